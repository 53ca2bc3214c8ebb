"""The streamer's publisher: batches, retries what the bus refused, and never lets a cursor pass an undelivered bar."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from events.batching import Undelivered
from events.envelope import Envelope
from events.models import BarClosed
from producers.streamer.gate import stream_of
from producers.streamer.publisher import BusPublisher, DeliveredCursors
from tests.conftest import spot_day_bars

BARS = spot_day_bars(limit=60)
ETH = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in BARS]


class RefusingBus:
    """Refuses every other entry of its first `refusals` calls; can be held shut with `gate`."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.delivered: list[BarClosed] = []
        self.batch_sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        self.gate.wait()
        self.batch_sizes.append(len(envelopes))
        if self.refusals:
            self.refusals -= 1
            refused = list(envelopes[::2])
            self.delivered.extend(e.detail for e in envelopes[1::2] if isinstance(e.detail, BarClosed))
            raise Undelivered("refused", refused, ["test"] * len(refused))
        self.delivered.extend(e.detail for e in envelopes if isinstance(e.detail, BarClosed))


class FakeCursorStore:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str, str], int] = {}

    def load(self) -> dict[tuple[str, str, str], int]:
        return {}

    def save(self, cursors: dict[tuple[str, str, str], int]) -> None:
        self.saved = dict(cursors)


def test_refused_bars_are_retried_until_every_bar_is_delivered_in_batches_of_ten() -> None:
    bus = RefusingBus(refusals=3)
    publisher = BusPublisher(bus, retry_pause_s=0.001)
    for btc, eth in zip(BARS, ETH, strict=True):
        publisher(btc)
        publisher(eth)
    assert publisher.close(timeout_s=10)
    assert sorted((b.symbol, b.open_time_ms) for b in bus.delivered) == sorted(
        (b.symbol, b.open_time_ms) for b in BARS + ETH
    )
    assert len(bus.delivered) == 120 and max(bus.batch_sizes) <= 10
    assert publisher.stats.refused_batches == 3


def test_cursors_are_saved_no_further_than_what_the_bus_accepted() -> None:
    bus = RefusingBus(refusals=0)
    publisher = BusPublisher(bus)
    store = FakeCursorStore()
    cursors = DeliveredCursors(store, publisher)
    for bar in BARS[:5]:
        publisher(bar)
    assert publisher.flush(5)
    bus.gate.clear()  # the bus hangs: these stay undelivered
    for bar in BARS[5:9]:
        publisher(bar)
    stream = stream_of(BARS[0])
    cursors.save({stream: BARS[8].open_time_ms, stream_of(ETH[0]): ETH[3].open_time_ms})
    assert store.saved == {stream: BARS[4].open_time_ms, stream_of(ETH[0]): ETH[3].open_time_ms}
    bus.gate.set()
    assert publisher.close(5)
    cursors.save({stream: BARS[8].open_time_ms})
    assert store.saved == {stream: BARS[8].open_time_ms}
