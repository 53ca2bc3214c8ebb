"""Invariant 1 at the streamer: whatever the websocket delivers, each bar is published once, in order."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from events.dead_letters import DeadLetterList
from events.models import BarClosed
from events.streams import StreamKey
from producers.exchanges.binance import BinanceSpot
from producers.streamer.backfill import RestBackfill
from producers.streamer.connection import ConnectionSettings, backoff_delay
from producers.streamer.cursors import CursorFile
from producers.streamer.gate import BarGate, Verdict
from producers.streamer.supervisor import Streamer, StreamerSettings
from tests.conftest import spot_day_bars

BARS = spot_day_bars(limit=120)


class RecordedRest:
    """Stands in for the exchange's REST klines: answers from the true bar list (a pure-unit fake)."""

    def __init__(self, bars: list[BarClosed]) -> None:
        self.bars = bars
        self.calls = 0

    async def closed_bars(self, symbol: str, timeframe: str, from_ms: int, to_ms: int) -> list[BarClosed]:
        self.calls += 1
        return [b.model_copy(update={"backfilled": True}) for b in self.bars if from_ms <= b.open_time_ms <= to_ms]

    async def close(self) -> None:
        pass


def kline_message(bar: BarClosed, closed: bool = True) -> str:
    kline = {
        "t": bar.open_time_ms, "T": bar.close_time_ms, "s": "BTCUSDT", "i": "1m", "o": str(bar.open),
        "h": str(bar.high), "l": str(bar.low), "c": str(bar.close), "v": str(bar.volume),
        "q": str(bar.quote_volume), "n": bar.trades, "x": closed,
    }  # fmt: skip
    return orjson.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": kline}}).decode()


def streamer(tmp_path: Path, start_ms: int | None = BARS[0].open_time_ms) -> tuple[Streamer, list[BarClosed]]:
    published: list[BarClosed] = []
    made = Streamer(
        adapter=BinanceSpot(),
        settings=StreamerSettings(symbols=("BTC/USDT",), start_ms=start_ms),
        sink=published.append,
        cursors=CursorFile(tmp_path / "cursors.json"),
        dead_letters=DeadLetterList(),
        backfill=RecordedRest(BARS),  # type: ignore[arg-type]
    )
    return made, published


@st.composite
def deliveries(draw: st.DrawFn) -> list[int]:
    """Indices of bars as a faulty websocket delivers them: dropped, repeated, locally reordered."""
    plan: list[tuple[float, int]] = []
    for index in range(len(BARS)):
        for _ in range(draw(st.integers(0, 2))):  # 0 = dropped, 2 = repeated
            plan.append((index + draw(st.floats(0, 3)), index))
    plan.append((len(BARS) + 10, len(BARS) - 1))  # the last bar arrives at least once
    return [index for _, index in sorted(plan)]


@settings(max_examples=50, deadline=None)
@given(order=deliveries(), forming=st.booleans())
def test_every_bar_once_in_order_whatever_the_websocket_does(order: list[int], forming: bool) -> None:
    import tempfile

    made, published = streamer(Path(tempfile.mkdtemp()))

    async def feed() -> None:
        for index in order:
            if forming:
                await made.handle_message("test", kline_message(BARS[index], closed=False))
            await made.handle_message("test", kline_message(BARS[index]))

    asyncio.run(feed())
    assert [bar.open_time_ms for bar in published] == [bar.open_time_ms for bar in BARS]
    assert all(p.close == b.close for p, b in zip(published, BARS, strict=True))


def test_malformed_message_is_dead_lettered_with_the_connection_and_the_stream_goes_on(tmp_path: Path) -> None:
    made, published = streamer(tmp_path)

    async def feed() -> None:
        await made.handle_message("binance-0", kline_message(BARS[0]))
        await made.handle_message("binance-0", kline_message(BARS[1])[:40])
        await made.handle_message("binance-0", kline_message(BARS[2]))

    asyncio.run(feed())
    assert [b.open_time_ms for b in published] == [b.open_time_ms for b in BARS[:3]]
    [letter] = made.dead_letters  # type: ignore[attr-defined]
    assert letter.origin.startswith("binance-0") and "not JSON" in letter.error
    assert made.malformed == 1


def test_gap_bars_are_published_before_the_bar_that_revealed_them_and_marked_backfilled(tmp_path: Path) -> None:
    made, published = streamer(tmp_path)

    async def feed() -> None:
        await made.handle_message("c", kline_message(BARS[0]))
        await made.handle_message("c", kline_message(BARS[4]))

    asyncio.run(feed())
    assert [b.open_time_ms for b in published] == [b.open_time_ms for b in BARS[:5]]
    assert [b.backfilled for b in published] == [False, True, True, True, False]


def test_a_restart_resumes_from_the_saved_cursor(tmp_path: Path) -> None:
    first, published_first = streamer(tmp_path)

    async def feed(made: Streamer, bars: list[BarClosed]) -> None:
        for bar in bars:
            await made.handle_message("c", kline_message(bar))
        made.cursor_store.save(made.gate.cursors)

    asyncio.run(feed(first, BARS[:30]))
    second, published_second = streamer(tmp_path, start_ms=None)  # a restarted task: cursors from the file
    asyncio.run(feed(second, BARS[25:26] + BARS[40:41]))  # an old repeat, then a bar after a gap
    assert [b.open_time_ms for b in published_first + published_second] == [b.open_time_ms for b in BARS[:41]]


def test_gate_verdicts() -> None:
    gate = BarGate()
    assert gate.admit(BARS[5]).verdict is Verdict.PUBLISH
    gate.published(BARS[5])
    assert gate.admit(BARS[5]).verdict is Verdict.DUPLICATE
    assert gate.admit(BARS[3]).verdict is Verdict.DUPLICATE
    assert gate.admit(BARS[6]).verdict is Verdict.PUBLISH
    gap = gate.admit(BARS[9])
    assert (gap.verdict, gap.missing_from_ms, gap.missing_to_ms) == (
        Verdict.GAP, BARS[6].open_time_ms, BARS[8].open_time_ms,
    )  # fmt: skip


def test_backoff_grows_with_jitter_and_never_busy_loops() -> None:
    import random

    settings_ = ConnectionSettings(backoff_base_s=0.5, backoff_cap_s=30)
    rng = random.Random(1)
    delays = [backoff_delay(attempt, settings_, rng) for attempt in range(12)]
    assert all(d >= 0.25 for d in delays)
    assert delays[0] <= 0.5 and 15 <= delays[-1] <= 30
    assert backoff_delay(10_000, settings_, rng) <= 30


YEAR_2100_MS = 4_102_444_800_000


def test_a_kline_dated_in_the_future_is_refused_and_later_bars_still_flow(tmp_path: Path) -> None:
    made, published = streamer(tmp_path)
    future = BARS[1].model_copy(update={"open_time_ms": YEAR_2100_MS, "close_time_ms": YEAR_2100_MS + 59_999})

    async def feed() -> None:
        await made.handle_message("binance-0", kline_message(BARS[0]))
        await made.handle_message("binance-0", kline_message(future))
        await made.handle_message("binance-0", kline_message(BARS[1]))

    asyncio.run(feed())
    assert [b.open_time_ms for b in published] == [b.open_time_ms for b in BARS[:2]]
    [letter] = made.dead_letters  # type: ignore[attr-defined]
    assert "in the future" in letter.error and made.malformed == 1
    assert made.gate.cursors[StreamKey("binance", "BTC/USDT", "1m")] == BARS[1].open_time_ms


def test_a_saved_cursor_in_the_future_does_not_silence_the_stream(tmp_path: Path) -> None:
    CursorFile(tmp_path / "cursors.json").save({StreamKey("binance", "BTC/USDT", "1m"): YEAR_2100_MS})
    made, published = streamer(tmp_path, start_ms=None)
    minute = time.time_ns() // 1_000_000 // 60_000 * 60_000  # the bar closing within the next minute
    live = BARS[0].model_copy(update={"open_time_ms": minute, "close_time_ms": minute + 59_999})
    asyncio.run(made.handle_message("binance-0", kline_message(live)))
    assert [b.open_time_ms for b in published] == [minute]


def test_a_rest_row_that_cannot_be_a_bar_is_dead_lettered_not_published() -> None:
    dead_letters = DeadLetterList()
    rest = RestBackfill("binance", "http://127.0.0.1:9", dead_letters)
    good = [BARS[0].open_time_ms, "1", "2", "0.5", "1.5", "3"]
    assert rest._bar("BTC/USDT", "1m", 60_000, good) is not None
    for bad in ([YEAR_2100_MS, "1", "2", "0.5", "1.5", "3"], [good[0], "1", "2", "3", "1.5", "3"], [good[0], None]):
        assert rest._bar("BTC/USDT", "1m", 60_000, bad) is None
    assert [letter.origin for letter in dead_letters] == ["binance REST klines BTC/USDT (http://127.0.0.1:9)"] * 3
    asyncio.run(rest.close())
