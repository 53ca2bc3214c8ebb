"""`make bench-peers`: stds beside vectorbt and nautilus_trader, same sma_cross, same bars, same trades.

The peers run in their own environment (.cache/peers) through peers_sma_cross.py. First one set (10/30), where
`stds replay` is timed as the whole process a user runs; then the sweep grids: a 10-set subset of bench_sweep's
95-set grid, and the 95 sets. There stds runs as one `stds sweep` worker runs a batch (run_items: one replay with a
strategy for each set, each trading its own sub-account and getting its own report), nautilus_trader as one engine
with a strategy for each set (and, for the 10 sets, one engine per set in a row), vectorbt as one broadcast over
the sets. Every engine's trades (bar, side, price) must equal stds's for every set, or this fails naming the set
and the first difference. Figures are strategy-bars/s (sets × bars over wall time) with CPU time beside them: the
machine is shared, and per CPU second is the steadier measure.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from events.dead_letters import DeadLetterList
from events.models import BarClosed, OrderFilled
from infra.config import StdsConfig, StrategyLine
from infra.research.grid import expand
from infra.research.items import SweepItem, SweepLine, run_items
from infra.research.windows import Span
from producers.replay.sources import open_sources
from tests.performance.bench_replay import BTCUSDT, replay_process
from tests.performance.bench_sweep import GRID, REPO

PEERS_SCRIPT = Path(__file__).with_name("peers_sma_cross.py")
FAST, SLOW, QTY = 10, 30, "0.01"  # a qty the starting cash always covers: no engine's cash rule decides a trade
NINETY_FIVE = [(params["fast"], params["slow"]) for params in expand(GRID)]
# the 10-set subset: fast across its range, slow at both ends of its range
TEN = [(fast, slow) for fast in (5, 25, 45, 65, 85) for slow in (100, 300)]

Trade = tuple[int, str, str]
Sets = Sequence[tuple[int, int]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peers-python", type=Path, required=True, help="the peers environment's interpreter")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is reported")
    parser.add_argument("--bars", type=int, help="the grids on only the first N bars (and no one-set table)")
    parser.add_argument(
        "--nautilus-bars", type=int, default=20_000, help="nautilus_trader's 95 sets on only the first N bars"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the two BTCUSDT files are a year apart: one known gap
    print(f"load average {_load()} on {os.cpu_count()} cores before starting")
    if args.bars is None:
        _one_set(args.peers_python, args.repeat)
    else:
        print(f"--bars {args.bars}: the one-set table (whole `stds replay` processes on every bar) is left out")
    bars = list(open_sources([BTCUSDT], DeadLetterList()))[: args.bars]
    print(f"\nsweep grids: sma_cross, qty {QTY}, {len(bars):,} BTC/USDT 1m bars, best of {args.repeat}")
    print("| sets | engine | bars | strategy-bars/s | per CPU second | what is timed |\n|---|---|---|---|---|---|")
    for sets, nautilus_bars in [(TEN, None), (NINETY_FIVE, args.nautilus_bars)]:
        for row in _grid(args.peers_python, bars, sets, args.repeat, nautilus_bars):
            print(row, flush=True)
    print(f"trades identical per set in every engine; load average {_load()} at the end")


def _one_set(peers_python: Path, repeat: int) -> None:
    """`stds replay` of one set as the whole process a user runs, beside the peers' engine loops."""
    out = Path(tempfile.mkdtemp()) / "out"
    sma = ["--strategy", "sma_cross", "--param", f"fast={FAST}", "--param", f"slow={SLOW}", "--param", f"qty={QTY}"]
    rows: list[tuple[str, float, float, str]] = []
    for label, options in [
        ("stds replay (state file, report; reads the CSVs)", [*sma, "--out", str(out)]),
        ("stds replay --db :memory:", [*sma, "--out", str(out), "--db", ":memory:"]),
    ]:
        wall, cpu, bars = min(replay_process(options) for _ in range(repeat))
        rows.append((label, bars / wall, bars / cpu, "whole process"))
    stds_trades = _stds_trades(out / "trades.csv")
    peers = _peers(peers_python, [(FAST, SLOW)], repeat, [])
    nautilus, vectorbt = peers["nautilus_trader"], peers["vectorbt"]
    _check("nautilus_trader", (FAST, SLOW), _their(nautilus["trades"][0]), stds_trades)
    _check("vectorbt", (FAST, SLOW), _their(vectorbt["trades"][0]), stds_trades)
    bars = peers["bars"]
    timed = "BacktestEngine.run(), CSV load excluded"
    rows.append(("nautilus_trader", bars / nautilus["seconds"], bars / nautilus["cpu"], timed))
    timed = "indicators + Portfolio.from_signals, warm"
    rows.append(("vectorbt", bars / vectorbt["warm"][0], bars / vectorbt["warm"][1], timed))
    print(f"sma_cross {FAST}/{SLOW}, qty {QTY}, {peers['bars']:,} BTC/USDT 1m bars, best of {repeat}:")
    print(f"identical trades in every engine: {len(stds_trades)}")
    print("| engine | bars/s | per CPU second | what is timed |\n|---|---|---|---|")
    for label, rate, per_cpu, timed in rows:
        print(f"| {label} | {rate:,.0f} | {per_cpu:,.0f} | {timed} |")


def _grid(peers_python: Path, bars: list[BarClosed], sets: Sets, repeat: int, nautilus_bars: int | None) -> list[str]:
    """The table's rows for one grid, once every engine's trades are checked against stds's, set by set."""
    stds_wall, stds_cpu, stds_trades = _stds_grid(bars, sets, repeat)
    options = ["--bars", str(len(bars))]
    options += ["--nautilus-each"] if nautilus_bars is None else ["--nautilus-bars", str(nautilus_bars)]
    peers = _peers(peers_python, sets, repeat, options)
    n, rows = len(sets), []

    def row(engine: str, bars_run: int, wall: float, cpu: float, timed: str) -> str:
        return f"| {n} | {engine} | {bars_run:,} | {n * bars_run / wall:,.0f} | {n * bars_run / cpu:,.0f} | {timed} |"

    rows.append(row("stds, one replay with a strategy each", len(bars), stds_wall, stds_cpu, "run_items, reports in"))
    vectorbt = peers["vectorbt"]
    for index, params in enumerate(sets):
        _check("vectorbt", params, _their(vectorbt["trades"][index]), stds_trades[index])
    first, warm = vectorbt["first"], vectorbt["warm"]
    rows.append(row("vectorbt, broadcast, first call", len(bars), *first, "MA + from_signals, numba compiling"))
    rows.append(row("vectorbt, broadcast, warm", len(bars), *warm, "MA + from_signals"))
    for key, engine in [("nautilus_trader", "one engine, a strategy each"), ("nautilus_each", "an engine each")]:
        if key not in peers:
            continue
        result = peers[key]
        run_bars = result["bars"]
        last_ms = bars[run_bars - 1].open_time_ms  # stds's trades on that prefix: each decided on its bar's close
        for index, params in enumerate(sets):
            ours = [trade for trade in stds_trades[index] if trade[0] <= last_ms]
            _check(f"nautilus_trader ({engine})", params, _their(result["trades"][index]), ours)
        timed = "BacktestEngine.run()" + ("" if run_bars == len(bars) else f", first {run_bars:,} bars")
        rows.append(row(f"nautilus_trader, {engine}", run_bars, result["seconds"], result["cpu"], timed))
    return rows


def _stds_grid(bars: list[BarClosed], sets: Sets, repeat: int) -> tuple[float, float, list[list[Trade]]]:
    """(wall s, CPU s, each set's trades) of the sets run as one `stds sweep` worker runs a batch of items."""
    line = StrategyLine(use="sma_cross", params={"qty": QTY})
    sweep_line = SweepLine("sma_cross", line, StdsConfig(strategies={"sma_cross": line}), REPO)
    span = Span(bars[0].open_time_ms, bars[-1].open_time_ms + bars[-1].interval_ms)
    items = [SweepItem(index, {"fast": fast, "slow": slow}, span) for index, (fast, slow) in enumerate(sets)]
    timings = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = run_items(bars, sweep_line, items)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    for outcome in outcomes:
        if outcome.error:
            raise SystemExit(f"stds: a sweep item failed: {outcome.error}")
    wall, cpu = min(timings)
    return wall, cpu, [[_trade(fill) for fill in outcome.fills] for outcome in outcomes]


def _peers(peers_python: Path, sets: Sets, repeat: int, options: list[str]) -> dict[str, Any]:
    csvs = [str(path) for path in sorted(BTCUSDT.glob("*.csv"))]
    pairs = ",".join(f"{fast}:{slow}" for fast, slow in sets)
    command = [str(peers_python), str(PEERS_SCRIPT), *csvs, "--sets", pairs, "--qty", QTY, "--repeat", str(repeat)]
    done = subprocess.run([*command, *options], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{PEERS_SCRIPT.name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _check(engine: str, params: tuple[int, int], theirs: list[Trade], ours: list[Trade]) -> None:
    if theirs != ours:
        fast, slow = params
        raise SystemExit(
            f"{engine} and stds made different trades for fast={fast} slow={slow}: {_first_difference(theirs, ours)}"
        )


def _first_difference(theirs: list[Trade], ours: list[Trade]) -> str:
    for n, (their, our) in enumerate(zip(theirs, ours, strict=False)):
        if their != our:
            return f"trade {n}: theirs {their}, stds {our}"
    return f"{len(theirs)} trades against {len(ours)}"


def _their(trades: list[list[Any]]) -> list[Trade]:
    return [(ms, side, _price(price)) for ms, side, price in trades]


def _trade(fill: OrderFilled) -> Trade:
    return fill.bar_open_time_ms, fill.side, _price(fill.price)


def _stds_trades(path: Path) -> list[Trade]:
    with path.open() as handle:
        return [
            (int(datetime.fromisoformat(row["time"]).timestamp() * 1000), row["side"], _price(row["price"]))
            for row in csv.DictReader(handle)
        ]


def _price(value: object) -> str:
    return f"{float(str(value)):.2f}"


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
