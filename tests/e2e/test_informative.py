"""Informative bars end to end: `stds replay` of a 5m SMA cross with a 1h trend filter (the example strategy) makes
exactly the trades a hand-computed oracle makes from the same two days of BTC minutes, where the oracle shows each
5m decision the hourly bars closed by its close. The same oracle with look-ahead, or with the hour shifted back one
bar (freqtrade's fix for it), trades differently: the comparison is not blind to the rule."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from events.dead_letters import DeadLetterList
from infra.cli import main
from infra.config import load_config
from infra.local.live import LiveOptions, run_live
from producers.replay.sources import open_sources
from producers.streamer.connection import ConnectionSettings
from producers.streamer.supervisor import StreamerSettings
from tests.conftest import REPO_ROOT, SHARED_DATA
from tools.local_exchange.faults import FaultPlan
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

MINUTES = [
    SHARED_DATA / f"binance/spot/freqtrade_json/1m/{day}/BTC_USDT-1m.json" for day in ("2021-05-07", "2021-05-08")
]
EXAMPLE = REPO_ROOT / "examples/strategies/trend_filtered_sma.py"
FAST, SLOW, TREND = 10, 30, 12
LOOKBACK = max(SLOW, TREND)  # the strategy's, and so each informative window's length
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Bar:
    open_ms: int
    length_ms: int
    close: Decimal

    @property
    def end_ms(self) -> int:
        return self.open_ms + self.length_ms


def bars_of(minutes: list[list[Decimal]], minutes_per_bar: int) -> list[Bar]:
    """Whole periods only; the close is the last minute's (BTC has no trade-less minute in these days)."""
    assert all(row[5] > 0 for row in minutes)
    step = minutes_per_bar * MINUTE_MS
    return [
        Bar(int(minutes[i][0]), step, minutes[i + minutes_per_bar - 1][4])
        for i in range(0, len(minutes) - minutes_per_bar + 1, minutes_per_bar)
    ]


def oracle_trades(visible: Callable[[Bar, Bar], bool]) -> list[tuple[str, str, Decimal]]:
    minutes = [row for path in MINUTES for row in json.loads(path.read_text(), parse_float=Decimal)]
    fives, hours = bars_of(minutes, 5), bars_of(minutes, 60)
    target, trades = 0, []
    for i in range(LOOKBACK - 1, len(fives)):
        decided = fives[i]
        closes = [bar.close for bar in fives[i - LOOKBACK + 1 : i + 1]]
        seen = [hour.close for hour in hours if visible(hour, decided)][-LOOKBACK:]
        wanted = 0
        if len(seen) == LOOKBACK and seen[-1] > sum(seen[-TREND:]) / TREND:
            wanted = int(sum(closes[-FAST:]) / FAST > sum(closes[-SLOW:]) / SLOW)
        if wanted != target:
            when = datetime.fromtimestamp(decided.open_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            trades.append((when, "buy" if wanted > target else "sell", decided.close))
            target = wanted
    return trades


def strategies_file(folder: Path) -> Path:
    strategies = folder / "strategies.toml"
    strategies.write_text(
        "[strategies]\n"
        f'trend = {{ use = "{EXAMPLE}", symbols = ["BTC/USDT"], timeframe = "5m", informative = ["1h"], '
        f"params = {{ fast = {FAST}, slow = {SLOW}, trend = {TREND} }} }}\n"
    )
    return strategies


def replay(inputs: list[Path], strategies: Path, out: Path, *extra: str) -> list[tuple[str, str, Decimal]]:
    arguments = ["replay", *map(str, inputs), "--config", str(strategies), "--no-progress", "--no-chart"]
    assert main([*arguments, "--out", str(out), *extra]) == 0
    return trades(out)


def trades(out: Path) -> list[tuple[str, str, Decimal]]:
    with (out / "trades.csv").open() as handle:
        return [(row["time"], row["side"], Decimal(row["price"])) for row in csv.DictReader(handle)]


def test_a_1h_trend_filter_on_5m_bars_trades_as_the_oracle_that_sees_hours_closed_by_the_decision(
    tmp_path: Path,
) -> None:
    made = replay(MINUTES, strategies_file(tmp_path), tmp_path / "out")
    closed_by_its_close = oracle_trades(lambda hour, decided: hour.end_ms <= decided.end_ms)
    assert len(closed_by_its_close) >= 4
    assert made == closed_by_its_close
    assert made != oracle_trades(lambda hour, decided: hour.open_ms <= decided.open_ms)  # the forming hour's bar
    assert made != oracle_trades(lambda hour, decided: hour.end_ms <= decided.open_ms)  # an hour behind at :55


def test_its_recording_replays_exactly_and_stds_run_makes_the_same_trades(tmp_path: Path) -> None:
    strategies = strategies_file(tmp_path)
    recording = tmp_path / "events.jsonl"
    made = replay(MINUTES, strategies, tmp_path / "built", "--record", str(recording))
    assert replay([recording], strategies, tmp_path / "recorded") == made

    minutes = Tape.of(bar for path in MINUTES for bar in open_sources([path], DeadLetterList(), exchange="binance"))
    exchange = LocalBinance(minutes, speed=8000, faults=FaultPlan.chaos(0.004, seed=7))
    stream = StreamerSettings(
        symbols=("BTC/USDT",),
        start_ms=exchange.tape.first_open_ms,
        connection=ConnectionSettings(silence_s=0.5, backoff_base_s=0.02, backoff_cap_s=0.3),
    )
    live = tmp_path / "live"
    options = LiveOptions(
        config=load_config(strategies), config_dir=tmp_path, stream=stream, out=live, print_trades=False,
        duration_s=240,
    )  # fmt: skip
    asyncio.run(run_live(options, exchange))
    assert trades(live) == made
