"""`stds replay` end to end on real bars: the trades are the ones the reference semantics define."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from events.codec import decode
from infra.cli import main
from tests.conftest import BTCUSDT_SPOT_DAY, FUTURES_1M


def reference_sma_cross_trades(path: Path, fast: int = 10, slow: int = 30) -> list[tuple[str, str, Decimal, Decimal]]:
    """ARCHITECTURE.md's sma_cross, computed another way: vectorised SMAs over the whole file."""
    rows = list(csv.reader(path.open()))
    closes = np.array([float(row[4]) for row in rows])
    cumulative = np.concatenate([[0.0], np.cumsum(closes)])
    index = np.arange(slow - 1, len(closes))
    sma_fast = (cumulative[index + 1] - cumulative[index + 1 - fast]) / fast
    sma_slow = (cumulative[index + 1] - cumulative[index + 1 - slow]) / slow
    targets = (sma_fast > sma_slow).astype(int)
    changes = np.diff(np.concatenate([[0], targets]))
    trades = []
    for offset in np.flatnonzero(changes):
        row = rows[index[offset]]
        time = datetime.fromtimestamp(int(row[0]) / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        price = Decimal(row[4])
        trades.append((time, "buy" if changes[offset] > 0 else "sell", price, price * Decimal("0.001")))
    return trades


def test_sma_cross_on_the_real_btcusdt_day_gives_the_reference_trades(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["replay", str(BTCUSDT_SPOT_DAY), "--strategy", "sma_cross", "--out", str(out), "--no-progress"]) == 0

    with (out / "trades.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [
            "time", "strategy", "symbol", "side", "qty", "price", "fee", "fee_asset", "fee_quote", "order_id"
        ]  # fmt: skip
        trades = list(reader)
    expected = reference_sma_cross_trades(BTCUSDT_SPOT_DAY)
    assert len(trades) == len(expected) > 10
    for row, (time, side, price, fee) in zip(trades, expected, strict=True):
        assert (row["time"], row["strategy"], row["symbol"], row["side"]) == (
            time,
            "sma_cross",
            "BTC/USDT",
            side,
        )
        assert (Decimal(row["qty"]), Decimal(row["price"]), Decimal(row["fee"])) == (1, price, fee)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["bars"] == 1440
    assert summary["trades"] == len(expected)
    assert Decimal(summary["fees"]) == sum(fee for *_, fee in expected)
    assert sum(Decimal(row["fee_quote"]) for row in trades) == Decimal(summary["fees"])  # the paper broker's sums
    assert {row["fee_asset"] for row in trades} == {"USDT"} and len({row["order_id"] for row in trades}) == len(trades)
    assert summary["fees_by_asset"] == {"USDT": summary["fees"]}
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "equity.csv").read_text().count("\n") >= 1440


def test_replay_of_a_recording_gives_byte_identical_events(tmp_path: Path) -> None:
    """Invariant 5: the recorded bars of a run, replayed, give the same events byte for byte."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    args = [
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=12",
        "--no-progress",
        "--no-chart",
    ]
    assert main(["replay", str(BTCUSDT_SPOT_DAY), *args, "--out", str(tmp_path / "a"), "--record", str(first)]) == 0
    assert main(["replay", str(first), *args, "--out", str(tmp_path / "b"), "--record", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    kinds = {decode(line).detail_type for line in first.read_bytes().splitlines()}
    assert kinds == {"BarClosed", "TargetChanged", "OrderRequested", "OrderFilled"}


def test_several_strategies_and_symbols_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text(
        '[strategies]\nsma = { use = "sma_cross" }\nbreakout = { use = "donchian_breakout", symbols = ["LINK/USDT"] }\n'
    )
    paths = [str(FUTURES_1M / f"{s}/{s}-1m-2023-02-01.csv") for s in ("LINKUSDT", "NEARUSDT")]
    out = tmp_path / "out"
    assert main(["replay", *paths, "--config", str(config), "--out", str(out), "--no-progress", "--no-chart"]) == 0
    assert f"{out}/ (trades.csv, equity.csv, summary.json)\n" in capsys.readouterr().out  # no chart.png promised
    assert not (out / "chart.png").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bars"] == 2 * 1440
    accounts = {(a["strategy"], a["symbol"]) for a in summary["accounts"]}
    assert accounts == {("sma", "LINK/USDT"), ("sma", "NEAR/USDT"), ("breakout", "LINK/USDT")}


def test_a_bad_row_is_dead_lettered_with_its_line_and_the_replay_goes_on(tmp_path: Path) -> None:
    lines = BTCUSDT_SPOT_DAY.read_text().splitlines()
    lines[99] = lines[99].replace(",", ",not-a-number,", 1).rsplit(",", 1)[0]
    broken = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "replay",
                str(broken),
                "--strategy",
                "sma_cross",
                "--out",
                str(out),
                "--no-progress",
                "--no-chart",
            ]
        )
        == 0
    )
    [letter] = [json.loads(line) for line in (out / "dead-letters.jsonl").read_text().splitlines()]
    assert letter["origin"] == f"{broken}:100"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["dead_letters"], summary["bars"]) == (1, 1439)


def test_killed_mid_replay_and_resumed_orders_nothing_twice(tmp_path: Path) -> None:
    day = tmp_path / "day"
    day.mkdir()
    lines = BTCUSDT_SPOT_DAY.read_text().splitlines(keepends=True)
    partial = day / BTCUSDT_SPOT_DAY.name
    partial.write_text("".join(lines[:700]))  # the process "dies" after 700 bars, state committed
    out = tmp_path / "out"
    common = ["--strategy", "sma_cross", "--out", str(out), "--no-progress", "--no-chart"]
    assert main(["replay", str(partial), *common]) == 0
    partial.write_text("".join(lines))
    assert main(["replay", str(partial), *common, "--resume"]) == 0
    resumed = (out / "trades.csv").read_text()

    fresh = tmp_path / "fresh"
    assert (
        main(
            [
                "replay",
                str(BTCUSDT_SPOT_DAY),
                "--strategy",
                "sma_cross",
                "--out",
                str(fresh),
                "--no-progress",
                "--no-chart",
            ]
        )
        == 0
    )
    assert resumed == (fresh / "trades.csv").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "nowhere.csv", "--strategy", "sma_cross"], "nowhere.csv"),
        (["replay", str(BTCUSDT_SPOT_DAY), "--strategy", "no_such"], "not a built-in strategy"),
        (
            ["replay", str(BTCUSDT_SPOT_DAY), "--strategy", "sma_cross", "--param", "fast"],
            "expected KEY=VALUE",
        ),
    ],
)
def test_cli_errors_say_what_is_wrong(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
