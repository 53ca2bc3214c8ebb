"""`make bench-peers`: `stds replay` beside vectorbt and nautilus_trader, same sma_cross, same bars.

The peers run in their own environment (.cache/peers) through peers_sma_cross.py; this checks that
every engine made the same trades as `stds replay` (bar, side, price) and prints one bars/s table.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

from tests.performance.bench_replay import BTCUSDT, replay_process

PEERS_SCRIPT = Path(__file__).with_name("peers_sma_cross.py")
FAST, SLOW, QTY = 10, 30, "0.01"  # a qty the starting cash always covers: no engine's cash rule decides a trade

Trade = tuple[int, str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peers-python", type=Path, required=True, help="the peers environment's interpreter")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "out"
    sma = ["--strategy", "sma_cross", "--param", f"fast={FAST}", "--param", f"slow={SLOW}", "--param", f"qty={QTY}"]
    rows: list[tuple[str, float, str]] = []
    for label, options in [
        ("stds replay (state file, report; reads the CSVs)", [*sma, "--out", str(out)]),
        ("stds replay --db :memory:", [*sma, "--out", str(out), "--db", ":memory:"]),
    ]:
        wall, _, bars = min(replay_process(options) for _ in range(args.repeat))
        rows.append((label, bars / wall, "whole process"))
    stds_trades = _stds_trades(out / "trades.csv")
    csvs = [str(path) for path in sorted(BTCUSDT.glob("*.csv"))]
    options = ["--fast", str(FAST), "--slow", str(SLOW), "--qty", QTY, "--repeat", str(args.repeat)]
    command = [str(args.peers_python), str(PEERS_SCRIPT), *csvs, *options]
    peers = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    for engine, timed in [
        ("nautilus_trader", "BacktestEngine.run(), CSV load excluded"),
        ("vectorbt", "indicators + Portfolio.from_signals, best call (numba warm)"),
    ]:
        trades = [(ms, side, _price(price)) for ms, side, price in peers[engine]["trades"]]
        if trades != stds_trades:
            raise SystemExit(
                f"{engine} and stds replay made different trades: {_first_difference(trades, stds_trades)}"
            )
        rows.append((engine, peers["bars"] / peers[engine]["seconds"], timed))
    print(f"sma_cross {FAST}/{SLOW}, qty {QTY}, {peers['bars']:,} BTC/USDT 1m bars, best of {args.repeat}:")
    print(f"identical trades in every engine: {len(stds_trades)}")
    print("| engine | bars/s | what is timed |\n|---|---|---|")
    for label, rate, timed in rows:
        print(f"| {label} | {rate:,.0f} | {timed} |")


def _first_difference(theirs: list[Trade], ours: list[Trade]) -> str:
    for n, (their, our) in enumerate(zip(theirs, ours, strict=False)):
        if their != our:
            return f"trade {n}: theirs {their}, stds {our}"
    return f"{len(theirs)} trades against {len(ours)}"


def _stds_trades(path: Path) -> list[Trade]:
    with path.open() as handle:
        return [
            (int(datetime.fromisoformat(row["time"]).timestamp() * 1000), row["side"], _price(row["price"]))
            for row in csv.DictReader(handle)
        ]


def _price(value: object) -> str:
    return f"{float(str(value)):.2f}"


if __name__ == "__main__":
    main()
