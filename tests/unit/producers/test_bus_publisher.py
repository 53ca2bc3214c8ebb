"""The streamer's publisher: a minute per batch, retries what the bus or S3 refused, and never lets a cursor pass an
undelivered bar."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from events.batching import Undelivered
from events.envelope import Envelope
from events.models import BarsClosed
from events.streams import StreamKey
from producers.streamer.publisher import BusPublisher, delivered_cursors
from tests.conftest import HANG_S, ManualClock, spot_day_bars

BARS = spot_day_bars(limit=60)
ETH = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in BARS]
SYMBOLS = ("BTC/USDT", "ETH/USDT")


class RefusingBus:
    """Refuses every other entry of its first `refusals` calls; can be held shut with `gate`."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.delivered: list[Envelope] = []
        self.gate = threading.Event()
        self.gate.set()
        self._published = threading.Condition()

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        self.gate.wait()
        with self._published:
            if self.refusals:
                self.refusals -= 1
                refused = list(envelopes[::2])
                self.delivered.extend(envelopes[1::2])
                raise Undelivered("refused", refused, ["test"] * len(refused))
            self.delivered.extend(envelopes)
            self._published.notify_all()

    def until_delivered(self, count: int) -> None:
        """Wait for the publisher's thread to hand over `count` envelopes in all (a hang guard, not a timing)."""
        with self._published:
            assert self._published.wait_for(lambda: len(self.delivered) >= count, timeout=HANG_S)
        assert len(self.delivered) == count

    def rows(self) -> list[tuple[str, int]]:
        return [(row.symbol, e.detail.open_time_ms) for e in self.delivered if isinstance(e.detail, BarsClosed)
                for row in e.detail.bars]  # fmt: skip


class FailingArchive:
    """Fails its first `failures` writes, as S3 does when it throttles or the network drops."""

    def __init__(self, failures: int, bus: RefusingBus) -> None:
        self.failures = failures
        self.bus = bus
        self.written: list[BarsClosed] = []
        self.published_before: list[str] = []  # batches the bus had before they were written (none, we hope)

    def write(self, batches: Sequence[BarsClosed]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("S3 unreachable")
        on_the_bus = {e.id for e in self.bus.delivered}
        self.published_before.extend(b.event_id for b in batches if b.event_id in on_the_bus)
        self.written.extend(batches)


class FakeCursorStore:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str, str], int] = {}

    def load(self) -> dict[tuple[str, str, str], int]:
        return {}

    def save(self, cursors: dict[tuple[str, str, str], int]) -> None:
        self.saved = dict(cursors)


def test_each_minute_goes_out_as_one_batch_stamped_with_its_close_and_refusals_are_retried() -> None:
    bus = RefusingBus(refusals=3)
    publisher = BusPublisher(bus, SYMBOLS, retry_pause_s=0.001, batch_wait_s=60, clock=ManualClock())
    for btc, eth in zip(BARS, ETH, strict=True):
        publisher(btc)
        publisher(eth)
    assert publisher.close(HANG_S)
    assert sorted(bus.rows()) == sorted((b.symbol, b.open_time_ms) for b in BARS + ETH)  # each once
    batches = [e for e in bus.delivered if isinstance(e.detail, BarsClosed)]
    assert len(batches) == len(BARS) and all(len(e.detail.bars) == 2 for e in batches)
    assert all(e.time.timestamp() * 1000 == e.detail.close_time_ms + 1 for e in batches)
    assert publisher.stats.refused_batches == 3 and publisher.stats.published == 120


def test_a_complete_minute_does_not_wait_and_an_incomplete_one_waits_only_its_time() -> None:
    bus, clock = RefusingBus(refusals=0), ManualClock()
    publisher = BusPublisher(bus, SYMBOLS, batch_wait_s=0.3, clock=clock)
    publisher(BARS[0])
    publisher(ETH[0])
    bus.until_delivered(1)  # the clock stood still: a complete minute goes out at once
    assert bus.rows() == [("BTC/USDT", BARS[0].open_time_ms), ("ETH/USDT", BARS[0].open_time_ms)]
    publisher(BARS[1])  # ETH's bar of this minute never comes
    clock.until_parked(deadline=0.3)  # the worker saw it, and waits for its minute's time to pass
    assert len(bus.delivered) == 1
    clock.advance(0.3)
    bus.until_delivered(2)
    assert bus.rows()[-1] == ("BTC/USDT", BARS[1].open_time_ms)
    publisher(ETH[1])  # late: follows in its own batch for the same open time, at once (the minute is complete)
    bus.until_delivered(3)
    assert bus.rows()[-1] == ("ETH/USDT", BARS[1].open_time_ms)
    assert publisher.close(HANG_S)


def test_bars_are_in_the_archive_before_they_are_published_and_an_archive_failure_is_retried() -> None:
    bus = RefusingBus(refusals=0)
    archive = FailingArchive(failures=2, bus=bus)
    publisher = BusPublisher(bus, SYMBOLS, archive=archive, retry_pause_s=0.001)  # type: ignore[arg-type]
    for btc, eth in zip(BARS[:5], ETH[:5], strict=True):
        publisher(btc)
        publisher(eth)
    assert publisher.close(HANG_S)
    assert [b.event_id for b in archive.written] == [e.detail.event_id for e in bus.delivered]
    assert archive.published_before == []  # written, then published
    assert len(archive.written) == 5 and publisher.stats.refused_batches == 2


def test_cursors_are_saved_no_further_than_what_the_bus_accepted() -> None:
    bus = RefusingBus(refusals=0)
    publisher = BusPublisher(bus, ("BTC/USDT",))
    store = FakeCursorStore()
    cursors = delivered_cursors(store, publisher)
    for bar in BARS[:5]:
        publisher(bar)
    assert publisher.flush(HANG_S)
    bus.gate.clear()  # the bus hangs: these stay undelivered
    for bar in BARS[5:9]:
        publisher(bar)
    assert publisher.pending() == 4  # gathering or in flight, none delivered
    stream = StreamKey.of(BARS[0])
    cursors.save({stream: BARS[8].open_time_ms, StreamKey.of(ETH[0]): ETH[3].open_time_ms})
    assert store.saved == {stream: BARS[4].open_time_ms, StreamKey.of(ETH[0]): ETH[3].open_time_ms}
    bus.gate.set()
    assert publisher.close(HANG_S)
    cursors.save({stream: BARS[8].open_time_ms})
    assert store.saved == {stream: BARS[8].open_time_ms}


def test_a_bar_still_gathering_holds_its_cursor_back_too() -> None:
    publisher = BusPublisher(RefusingBus(refusals=0), SYMBOLS, batch_wait_s=60, clock=ManualClock())
    store = FakeCursorStore()
    publisher(BARS[7])  # ETH has not closed this minute: the batch waits
    delivered_cursors(store, publisher).save({StreamKey.of(BARS[7]): BARS[7].open_time_ms})
    assert store.saved == {StreamKey.of(BARS[7]): BARS[6].open_time_ms}
    assert publisher.close(HANG_S)


def test_the_rows_are_the_bars_given() -> None:
    bus = RefusingBus(refusals=0)
    publisher = BusPublisher(bus, ("BTC/USDT",))
    for bar in BARS[:3]:
        publisher(bar)
    assert publisher.close(HANG_S)
    assert [bar for e in bus.delivered if isinstance(e.detail, BarsClosed) for bar in e.detail.bar_events()] == BARS[:3]


def test_a_higher_bar_not_delivered_saves_its_own_stream_s_cursor_beside_the_minutes() -> None:
    """The 00:00 5m bar waits while its last minute, 00:04, went out: the minutes' cursor is not held back by it,
    so its own stream's cursor is saved too (the restart makes it again from there); once delivered, it is not."""
    publisher = BusPublisher(RefusingBus(refusals=0), SYMBOLS, batch_wait_s=60, clock=ManualClock())
    five = BARS[0].model_copy(update={"timeframe": "5m", "close_time_ms": BARS[0].open_time_ms + 299_999})
    publisher(five)  # ETH's 5m bar never comes: it waits
    store = FakeCursorStore()
    minutes = {StreamKey.of(BARS[4]): BARS[4].open_time_ms}
    delivered_cursors(store, publisher).save(minutes)
    assert store.saved == {**minutes, StreamKey.of(five): five.open_time_ms - 300_000}
    assert publisher.close(HANG_S)
    delivered_cursors(store, publisher).save(minutes)
    assert store.saved == minutes
