"""A streamer task killed at any minute, and replaced: every minute and every higher bar made from the minutes is
delivered, and no minute the dead task delivered is sent again, even when the minute that closed a higher bar
went out in a send of its own and the higher bar was still in flight when the task died."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import example, given, settings
from hypothesis import strategies as st

from events.aggregation import BarAggregator, HigherBars
from events.dead_letters import DeadLetterList
from events.envelope import Envelope
from events.models import BarClosed, BarsClosed
from events.streams import StreamKey
from producers.exchanges.binance import BinanceSpot
from producers.streamer.cursors import CursorFile
from producers.streamer.publisher import BusPublisher, delivered_cursors
from producers.streamer.seeding import seed_forming_bars
from producers.streamer.supervisor import Streamer, StreamerSettings
from tests.conftest import HANG_S, ManualClock, eventually
from tests.unit.producers.test_seeding import FailingOnce
from tests.unit.producers.test_streamer_gate import BARS, RecordedRest, kline_message

MINUTES = BARS[:60]  # 00:00-00:59: four 15m and twelve 5m periods
TIMEFRAMES = ("5m", "15m")
SYMBOLS = ("BTC/USDT",)
MINUTE = StreamKey("binance", "BTC/USDT", "1m")


class DyingBus:
    """Delivers what it is given, but a put hangs (a PutEvents in flight) until the task dies (`die`) while
    `hold_higher` is set and it carries a higher bar, or when it carries a minute opening at `hang_from_ms` or
    later; the publisher's worker waits in it, and what it sends and all that gathers behind never arrive."""

    def __init__(self, hang_from_ms: int | None = None) -> None:
        self.delivered: list[BarClosed] = []
        self.hang_from_ms = hang_from_ms
        self.hold_higher = False
        self.holding = False
        self.dead = False
        self._state = threading.Condition()

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        bars = [bar for e in envelopes if isinstance(e.detail, BarsClosed) for bar in e.detail.bar_events()]
        with self._state:
            if any(self._hangs(bar) for bar in bars):
                self.holding = True
                self._state.notify_all()
                self._state.wait_for(lambda: self.dead)
            if not self.dead:
                self.delivered.extend(bars)

    def sent(self) -> list[tuple[str, int]]:
        with self._state:
            return [(bar.timeframe, bar.open_time_ms) for bar in self.delivered]

    def _hangs(self, bar: BarClosed) -> bool:
        if bar.timeframe != "1m":
            return self.hold_higher
        return self.hang_from_ms is not None and bar.open_time_ms >= self.hang_from_ms

    def die(self) -> None:
        with self._state:
            self.dead = True
            self._state.notify_all()


class WorkerBetween:
    """The publisher as HigherBars feeds it, with one thread schedule forced: after `minute`, the publisher's
    worker runs (and sends that minute alone) before the higher bars the minute closed reach the publisher."""

    def __init__(self, publisher: BusPublisher, bus: DyingBus, minute: BarClosed | None) -> None:
        self.publisher = publisher
        self.bus = bus
        self.minute = minute

    def __call__(self, bar: BarClosed) -> None:
        self.publisher(bar)
        if self.minute is not None and (bar.timeframe, bar.open_time_ms) == ("1m", self.minute.open_time_ms):
            eventually(lambda: any(sent == (bar.timeframe, bar.open_time_ms) for sent in self.bus.sent()), "sent")
            self.bus.hold_higher = True


def task(
    cursor_file: Path, bus: DyingBus, start_ms: int | None, rest: RecordedRest | None = None
) -> tuple[Streamer, BusPublisher, HigherBars]:
    """A `stds stream` task's parts as `run_stream` wires them, with a clock only the test moves."""
    publisher = BusPublisher(bus, SYMBOLS, batch_wait_s=60, retry_pause_s=0.001, clock=ManualClock())
    higher = HigherBars(publisher, TIMEFRAMES)
    streamer = Streamer(
        adapter=BinanceSpot(),
        settings=StreamerSettings(symbols=SYMBOLS, start_ms=start_ms),
        sink=higher,
        cursors=delivered_cursors(CursorFile(cursor_file), publisher),
        dead_letters=DeadLetterList(),
        backfill=rest or RecordedRest(MINUTES),  # type: ignore[arg-type]
    )
    return streamer, publisher, higher


def made(minutes: Sequence[BarClosed]) -> list[BarClosed]:
    """The higher bars these minutes make, in the order they close: the oracle."""
    aggregator = BarAggregator(TIMEFRAMES)
    return [bar for minute in minutes for bar in aggregator.add(minute)[1:]]


def killed_after(cursor_file: Path, crash: int, split: bool, undelivered: int = 0) -> list[BarClosed]:
    """The first task streams minutes 0..`crash`, the last `undelivered` of them never delivered (their put hangs,
    the rest gathers behind it); with `split`, the last minute delivered goes out alone and the higher bars it closed
    hang in flight. The task saves its cursors (a heartbeat) and is killed; returns what its bus delivered."""
    last_delivered = crash - undelivered
    bus = DyingBus(MINUTES[last_delivered + 1].open_time_ms if undelivered else None)
    streamer, publisher, higher = task(cursor_file, bus, MINUTES[0].open_time_ms)
    higher.sink = WorkerBetween(publisher, bus, MINUTES[last_delivered] if split else None)

    async def stream() -> None:
        for bar in MINUTES[: crash + 1]:
            await streamer.handle_message("test", kline_message(bar))

    asyncio.run(stream())
    closed_higher = len(made(MINUTES[: last_delivered + 1])) > len(made(MINUTES[:last_delivered]))
    if undelivered or (split and closed_higher):
        eventually(lambda: bus.holding, "the worker waiting in a put that never returns")
    else:
        eventually(lambda: publisher.pending() == 0, "everything delivered")
    streamer.cursor_store.save(streamer.gate.cursors)
    bus.die()
    assert publisher.close(HANG_S)
    return bus.delivered


def replaced(cursor_file: Path, rest: RecordedRest | None = None) -> tuple[list[BarClosed], int]:
    """The replacement task: only the saved cursors, the forming bars seeded, then the minutes after its cursor
    (live, or caught up over REST); what its bus delivered, and the REST requests it made."""
    bus = DyingBus()
    rest = rest or RecordedRest(MINUTES)
    streamer, publisher, higher = task(cursor_file, bus, None, rest)

    async def stream() -> None:
        await seed_forming_bars(streamer, higher)
        (cursor,) = streamer.gate.cursors.values()
        for bar in MINUTES:
            if bar.open_time_ms > cursor:
                await streamer.handle_message("test", kline_message(bar))

    asyncio.run(stream())
    assert publisher.close(HANG_S)
    return bus.delivered, rest.calls


@settings(max_examples=80, deadline=None)
@example(crash=14, split=True, undelivered=0)  # 00:14 closes a 5m and a 15m bar: both in flight
@example(crash=16, split=True, undelivered=2)  # and the minutes after 00:14 stuck behind them
@given(crash=st.integers(0, len(MINUTES) - 2), split=st.booleans(), undelivered=st.integers(0, 3))
def test_a_task_killed_at_any_minute_loses_no_bar_and_sends_no_delivered_minute_again(
    crash: int, split: bool, undelivered: int
) -> None:
    undelivered = min(undelivered, crash)  # minute 0 is always delivered: the first task starts there
    with TemporaryDirectory() as folder:
        cursor_file = Path(folder) / "cursors.json"
        first = killed_after(cursor_file, crash, split, undelivered)
        second, _ = replaced(cursor_file)
    minutes = [bar.open_time_ms for bar in first + second if bar.timeframe == "1m"]
    assert minutes == [bar.open_time_ms for bar in MINUTES]  # each once, in order: none lost, none sent again
    expected = made(MINUTES)
    delivered = [bar for bar in first + second if bar.timeframe != "1m"]
    assert Counter(map(key_and_prices, delivered)) == Counter(map(key_and_prices, expected))


def test_a_5m_bar_in_flight_when_the_task_dies_is_made_again_by_the_next_one(tmp_path: Path) -> None:
    """00:04 closes the 00:00 5m bar: it went out alone, the 5m bar hung, the task died. The next task makes the
    5m bar from the minutes over REST (one request), sends none of them again, and goes on from 00:05."""
    cursor_file = tmp_path / "cursors.json"
    first = killed_after(cursor_file, crash=4, split=True)
    assert [bar.timeframe for bar in first] == ["1m"] * 5
    assert CursorFile(cursor_file).load() == {
        MINUTE: MINUTES[4].open_time_ms,
        MINUTE._replace(timeframe="5m"): MINUTES[0].open_time_ms - 300_000,  # no 5m bar delivered yet
    }
    second, requests = replaced(cursor_file)
    assert requests == 1
    assert [bar.open_time_ms for bar in second if bar.timeframe == "1m"] == [b.open_time_ms for b in MINUTES[5:]]
    fives = [key_and_prices(bar) for bar in made(MINUTES) if bar.timeframe == "5m"]
    assert [key_and_prices(bar) for bar in second if bar.timeframe == "5m"] == fives  # 00:00 first, then live


def test_rest_down_at_the_restart_publishes_the_5m_bar_s_minutes_again_rather_than_lose_it(tmp_path: Path) -> None:
    cursor_file = tmp_path / "cursors.json"
    killed_after(cursor_file, crash=4, split=True)
    second, _ = replaced(cursor_file, FailingOnce(MINUTES))
    assert [bar.open_time_ms for bar in second if bar.timeframe == "1m"] == [b.open_time_ms for b in MINUTES]
    fives = [key_and_prices(bar) for bar in made(MINUTES) if bar.timeframe == "5m"]
    assert [key_and_prices(bar) for bar in second if bar.timeframe == "5m"] == fives


def key_and_prices(bar: BarClosed) -> tuple[object, ...]:
    """What must equal the oracle's (minutes read back over REST say `backfilled`)."""
    return (bar.timeframe, bar.open_time_ms, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades)
