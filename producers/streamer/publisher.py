"""Publishing the streamer's bars to a remote bus (EventBridge, SNS) without stalling the websockets.

The streamer's sink must return at once, but a `PutEvents` call takes tens of milliseconds; so bars
queue here and a worker thread publishes them in batches (a batch closes at `max_batch` bars or after
`linger_s`). A batch the bus refuses is retried, oldest first, until it goes through: a streamer never
drops a closed bar. Cursors are saved no further than what was delivered (`DeliveredCursors`), so a
task killed with bars still queued re-publishes them on restart instead of losing them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from events.batching import Undelivered
from events.bus import Bus
from events.envelope import Envelope, time_of_ms, wrap
from events.models import BarClosed
from producers.streamer.cursors import CursorStore
from producers.streamer.gate import StreamId, stream_of

log = logging.getLogger(__name__)


@dataclass
class PublisherStats:
    published: int = 0
    refused_batches: int = 0


@dataclass
class BusPublisher:
    bus: Bus
    max_batch: int = 10
    linger_s: float = 0.05
    retry_pause_s: float = 1.0
    stats: PublisherStats = field(default_factory=PublisherStats)

    def __post_init__(self) -> None:
        self._queue: deque[tuple[float, Envelope]] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._in_flight: list[Envelope] = []
        self._thread = threading.Thread(target=self._work, name="bus-publisher", daemon=True)
        self._thread.start()

    def __call__(self, bar: BarClosed) -> None:
        """The streamer's sink: queue the bar (stamped with its close), return at once."""
        with self._condition:
            self._queue.append((time.monotonic(), wrap(bar, time_of_ms(bar.close_time_ms + 1))))
            self._condition.notify()

    def pending_floors(self) -> dict[StreamId, int]:
        """Per stream with undelivered bars, the cursor it may be saved at: the open time of the bar
        before its oldest undelivered one (streams with nothing pending are absent)."""
        with self._condition:
            waiting = [*self._in_flight, *(envelope for _, envelope in self._queue)]
        floors: dict[StreamId, int] = {}
        for envelope in waiting:
            bar = envelope.detail
            if isinstance(bar, BarClosed):
                floor = bar.open_time_ms - (bar.close_time_ms - bar.open_time_ms + 1)
                stream = stream_of(bar)
                floors[stream] = min(floor, floors.get(stream, floor))
        return floors

    def pending(self) -> int:
        with self._condition:
            return len(self._queue) + len(self._in_flight)

    def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued so far is delivered; False if `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        while self.pending():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 20.0) -> bool:
        """Deliver what is queued (up to `timeout_s`), then stop the worker; False if bars were left."""
        delivered = self.flush(timeout_s)
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout=1.0)
        if not delivered:
            log.error("bars left undelivered at shutdown", extra={"pending": self.pending()})
        return delivered

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closing:
                    self._condition.wait()
                if self._closing and not self._queue:
                    return
                first_at = self._queue[0][0]
                # let a batch fill (bars of many symbols close together) but never hold one longer than linger_s
                while len(self._queue) < self.max_batch and not self._closing:
                    left = first_at + self.linger_s - time.monotonic()
                    if left <= 0:
                        break
                    self._condition.wait(left)
                count = min(self.max_batch, len(self._queue))
                batch = [self._queue.popleft()[1] for _ in range(count)]
                self._in_flight = batch
            self._deliver(batch)

    def _deliver(self, batch: list[Envelope]) -> None:
        while True:
            try:
                self.bus.publish(batch)
            except Undelivered as error:  # the bus gave up on some: keep only those, try again
                batch = error.envelopes
                self._refused(error)
            except Exception as error:  # a network or service error outside the bus's own retries
                self._refused(error)
            else:
                with self._condition:
                    self._in_flight = []
                    self.stats.published += len(batch)
                return
            with self._condition:
                self._in_flight = batch
            time.sleep(self.retry_pause_s)

    def _refused(self, error: Exception) -> None:
        self.stats.refused_batches += 1
        log.error("bus refused bars; retrying, nothing is dropped", extra={"error": repr(error)[:500]})


class DeliveredCursors:
    """Saves each stream's cursor no further than its bars were delivered by the publisher."""

    def __init__(self, store: CursorStore, publisher: BusPublisher) -> None:
        self.store = store
        self.publisher = publisher

    def load(self) -> dict[StreamId, int]:
        return self.store.load()

    def save(self, cursors: dict[StreamId, int]) -> None:
        floors = self.publisher.pending_floors()
        self.store.save({stream: min(cursor, floors.get(stream, cursor)) for stream, cursor in cursors.items()})
