"""Publishing the streamer's bars to a remote bus (EventBridge, SNS) as one batch per exchange × timeframe × minute.

The streamer's sink must return at once, but S3 and `PutEvents` calls take tens of milliseconds; so bars
gather here by open time, and a worker thread sends a minute when every subscribed symbol has closed it or
`batch_wait_s` after its first bar arrived, whichever comes first. Bars that come after their minute went out
(late, or backfilled after a reconnect) gather the same way and follow in another batch for that open time.
A minute is sent with every earlier minute still gathering, oldest first, so no stream is ever reordered.

Sending a minute: its rows go into the S3 span object first (`SpanArchive`, when there is a bucket), then
its `BarsClosed` batch (one up to 256 KB: `events.minute_batches.batches_of`) to the bus, stamped with the
minute's close. S3 failures and bus refusals are retried until they go through: a streamer never drops a
closed bar. Cursors are saved no further than what was delivered (`delivered_cursors`), so a task killed
with bars gathering or in flight re-publishes them on restart instead of losing them; a higher bar (sent apart
from the minute that closed it when the worker takes that minute first) holds back its own stream's cursor,
and the restart makes it again from the minutes (`seeding`), not by sending them twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from events.batching import Undelivered
from events.bus import Bus
from events.envelope import wrap
from events.minute_batches import batches_of
from events.models import BarClosed, BarsClosed
from events.streams import StreamKey
from producers.streamer.clock import Clock, SystemClock
from producers.streamer.cursors import CursorStore, FlooredCursors
from producers.streamer.minute_gathering import MinuteGathering
from producers.streamer.s3_archive import SpanArchive

log = logging.getLogger(__name__)


@dataclass
class PublisherStats:
    published: int = 0  # bars delivered
    batches: int = 0  # BarsClosed chunks delivered
    refused_batches: int = 0  # S3 or bus failures, each retried
    # per minute sent: from its first bar reaching the publisher to the bus accepting its batch
    latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


class BusPublisher:
    def __init__(
        self,
        bus: Bus,
        symbols: Iterable[str],
        *,
        archive: SpanArchive | None = None,
        batch_wait_s: float = 2.0,
        retry_pause_s: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock or SystemClock()  # what a minute's wait is measured by
        self.archive = archive
        self.retry_pause_s = retry_pause_s
        self.stats = PublisherStats()
        self._gathering = MinuteGathering(symbols, batch_wait_s)
        self._in_flight: list[BarClosed] = []
        self._condition = threading.Condition()
        self._hurry = False  # send whatever is gathering without waiting (flush, close)
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="bus-publisher", daemon=True)
        self._thread.start()

    def __call__(self, bar: BarClosed) -> None:
        """The streamer's sink: add the bar to its minute, return at once."""
        with self._condition:
            self._gathering.add(bar, self.clock.monotonic())
            self._condition.notify()

    def pending_floors(self) -> dict[StreamKey, int]:
        """Per stream with undelivered bars, the cursor it may be saved at: the open time of the bar
        before its oldest undelivered one (streams with nothing pending are absent)."""
        floors: dict[StreamKey, int] = {}
        for bar in self._undelivered():
            floor = bar.open_time_ms - (bar.interval_ms)
            stream = StreamKey.of(bar)
            floors[stream] = min(floor, floors.get(stream, floor))
        return floors

    def pending(self) -> int:
        return len(self._undelivered())

    def flush(self, timeout_s: float) -> bool:
        """Send what is gathering now, without waiting for its minute to fill, and wait until it is
        delivered; False if `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            self._hurry = True
            self._condition.notify()
        try:
            while self.pending():
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
            return True
        finally:
            with self._condition:
                self._hurry = False

    def close(self, timeout_s: float = 20.0) -> bool:
        """Deliver everything gathered (up to `timeout_s`), then stop the worker; False if bars were left."""
        delivered = self.flush(timeout_s)
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout=1.0)
        if not delivered:
            log.error("bars left undelivered at shutdown", extra={"pending": self.pending()})
        return delivered

    def _undelivered(self) -> list[BarClosed]:
        with self._condition:
            return [*self._in_flight, *self._gathering.bars()]

    def _work(self) -> None:
        while True:
            with self._condition:
                while not (due := self._gathering.due(self.clock.monotonic(), hurry=self._hurry)):
                    if self._closing:
                        return
                    self.clock.wait(self._condition, self._gathering.next_deadline())
                minutes = [self._gathering.take(key) for key in due]
                self._in_flight = [bar for _, bars in minutes for bar in bars]
            self._send(minutes)

    def _send(self, minutes: list[tuple[float, list[BarClosed]]]) -> None:
        batches = batches_of(bar for _, bars in minutes for bar in bars)
        if self.archive is not None:
            self._until_archived(self.archive, batches)
        waiting = [wrap(batch, batch.closed_at) for batch in batches]
        while waiting:
            try:
                self.bus.publish(waiting)
                waiting = []
            except Undelivered as error:  # the bus gave up on some: keep only those, try again
                waiting = error.envelopes
                self._refused(error)
            except Exception as error:  # a network or service error outside the bus's own retries
                self._refused(error)
            if waiting:
                time.sleep(self.retry_pause_s)
        accepted = self.clock.monotonic()
        with self._condition:
            self._in_flight = []
            self.stats.published += sum(len(bars) for _, bars in minutes)
            self.stats.batches += len(batches)
            self.stats.latency_s.extend(accepted - first_at for first_at, _ in minutes)

    def _until_archived(self, archive: SpanArchive, batches: list[BarsClosed]) -> None:
        while True:
            try:
                archive.write(batches)
            except Exception as error:  # S3 trouble: the bars wait here, in order, until it passes
                self._refused(error)
                time.sleep(self.retry_pause_s)
            else:
                return

    def _refused(self, error: Exception) -> None:
        self.stats.refused_batches += 1
        log.error("bus or archive refused bars; retrying, nothing is dropped", extra={"error": repr(error)[:500]})


def delivered_cursors(store: CursorStore, publisher: BusPublisher) -> FlooredCursors:
    """Cursors saved no further than each stream's bars were delivered by the publisher."""
    return FlooredCursors(store, publisher.pending_floors)
