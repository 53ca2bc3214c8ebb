"""A restarted streamer's forming higher bars: the minutes it published are read back into the aggregator, not
published again; when REST fails then, they are published again instead, and the bar is never lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from events.aggregation import BarAggregator, HigherBars
from events.dead_letters import DeadLetterList
from events.models import BarClosed
from events.streams import StreamKey
from producers.exchanges.binance import BinanceSpot
from producers.streamer.cursors import CursorFile
from producers.streamer.seeding import seed_forming_bars
from producers.streamer.supervisor import Streamer, StreamerSettings
from tests.unit.producers.test_streamer_gate import BARS, RecordedRest, kline_message

STREAM = StreamKey("binance", "BTC/USDT", "1m")


class FailingOnce(RecordedRest):
    async def closed_bars(self, symbol: str, timeframe: str, from_ms: int, to_ms: int) -> list[BarClosed]:
        if not self.calls:
            self.calls += 1
            raise ConnectionError("REST down")
        return await super().closed_bars(symbol, timeframe, from_ms, to_ms)


def restart_at_0130(tmp_path: Path, rest: RecordedRest) -> tuple[list[BarClosed], int]:
    """A streamer with `--timeframes 1h` restarted with its cursor at 01:29, then given 01:30-01:59 live."""
    assert BARS[0].open_time_ms % 3_600_000 == 0 and len(BARS) == 120  # 00:00-01:59
    cursors = CursorFile(tmp_path / "cursors.json")
    cursors.save({STREAM: BARS[89].open_time_ms})
    published: list[BarClosed] = []
    higher = HigherBars(published.append, ["1h"])
    streamer = Streamer(
        adapter=BinanceSpot(),
        settings=StreamerSettings(symbols=("BTC/USDT",)),
        sink=higher,
        cursors=cursors,
        dead_letters=DeadLetterList(),
        backfill=rest,  # type: ignore[arg-type]
    )

    async def go() -> int:
        seeded = await seed_forming_bars(streamer, higher)
        for bar in BARS[90:]:
            await streamer.handle_message("test", kline_message(bar))
        return seeded

    return published, asyncio.run(go())


def the_hour(bars: list[BarClosed]) -> BarClosed:
    aggregator = BarAggregator(["1h"])
    return [made for bar in bars for made in aggregator.add(bar) if made.timeframe == "1h"][-1]


def test_a_restart_mid_hour_publishes_only_the_minutes_after_its_cursor_and_makes_the_hour(tmp_path: Path) -> None:
    published, seeded = restart_at_0130(tmp_path, RecordedRest(BARS))
    assert seeded == 30
    minutes = [bar for bar in published if bar.timeframe == "1m"]
    assert [bar.open_time_ms for bar in minutes] == [bar.open_time_ms for bar in BARS[90:]]
    (hour,) = [bar for bar in published if bar.timeframe == "1h"]
    expected = the_hour(BARS)
    assert (hour.open_time_ms, hour.open, hour.high, hour.low, hour.close, hour.volume) == (
        expected.open_time_ms, expected.open, expected.high, expected.low, expected.close, expected.volume,
    )  # fmt: skip


def test_rest_down_at_the_restart_publishes_the_hour_s_minutes_again_rather_than_lose_the_bar(tmp_path: Path) -> None:
    published, seeded = restart_at_0130(tmp_path, FailingOnce(BARS))
    assert seeded == 0
    minutes = [bar for bar in published if bar.timeframe == "1m"]
    assert [bar.open_time_ms for bar in minutes] == [bar.open_time_ms for bar in BARS[60:]]
    (hour,) = [bar for bar in published if bar.timeframe == "1h"]
    assert (hour.open_time_ms, hour.close, hour.volume) == (
        BARS[60].open_time_ms, BARS[119].close, sum(bar.volume for bar in BARS[60:]),
    )  # fmt: skip
