"""The streamer: subscriptions split over connections, every closed bar through the gate, gaps backfilled."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from events.bar_checks import now_ms
from events.dead_letters import DeadLetters
from events.models import BarClosed
from events.streams import StreamKey
from events.timeframes import timeframe_ms
from producers.exchanges.adapter import CandleStream, MalformedMessage, Subscription
from producers.streamer.backfill import RestBackfill
from producers.streamer.connection import ConnectionSettings, StreamConnection
from producers.streamer.cursors import CursorStore
from producers.streamer.gate import BarGate, Verdict

log = logging.getLogger(__name__)

BarSink = Callable[[BarClosed], None]


@dataclass(frozen=True)
class StreamerSettings:
    symbols: tuple[str, ...]
    timeframe: str = "1m"
    ws_url: str | None = None  # None: the exchange's public endpoint
    rest_url: str | None = None
    start_ms: int | None = None  # with no saved cursor, backfill from here; None: start with the first live bar
    heartbeat_s: float = 60.0
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)


@dataclass(frozen=True, slots=True)
class StreamStatus:
    stream: StreamKey
    last_open_time_ms: int  # the newest bar published (the stream's cursor)
    lag_bars: int  # behind the freshest stream
    backfilled: int  # bars recovered over REST after gaps and reconnects
    seconds_since_publish: float | None  # None: nothing published by this process yet


@dataclass(frozen=True, slots=True)
class StreamerHealth:
    streams: list[StreamStatus]
    published: int
    backfilled: int
    malformed: int
    reconnects: int


class Streamer:
    """Publishes each closed bar once per stream, in order, whatever the connections do."""

    def __init__(
        self,
        *,
        adapter: CandleStream,
        settings: StreamerSettings,
        sink: BarSink,
        cursors: CursorStore,
        dead_letters: DeadLetters,
        backfill: RestBackfill | None = None,
    ) -> None:
        self.adapter = adapter
        self.settings = settings
        self.sink = sink
        self.cursor_store = cursors
        self.dead_letters = dead_letters
        self.backfill = backfill or RestBackfill(adapter.exchange, settings.rest_url, dead_letters)
        saved = cursors.load()
        self.gate = BarGate(
            _not_after_now({key: at for key, at in saved.items() if key.timeframe == settings.timeframe})
        )
        # the streams made from these bars (higher timeframes) whose bars were not all delivered when the cursors
        # were saved, each at its last delivered bar: a restart makes the rest again (`seeding`) before it streams
        self.lagging_cursors = {key: at for key, at in saved.items() if key.timeframe != settings.timeframe}
        self.subscriptions = [adapter.subscription(symbol, settings.timeframe) for symbol in settings.symbols]
        if settings.start_ms is not None:
            interval = timeframe_ms(settings.timeframe)
            for sub in self.subscriptions:
                self.gate.cursors.setdefault(self._stream(sub), settings.start_ms - interval)
        self.stopping = asyncio.Event()
        self.published = 0
        self.backfilled = 0
        self.malformed = 0
        self.backfilled_per_stream: dict[StreamKey, int] = {}
        self.last_publish_wall: dict[StreamKey, float] = {}
        self._locks: dict[StreamKey, asyncio.Lock] = {}
        self.connections: list[StreamConnection] = []

    def stop(self) -> None:
        """Ask every connection to finish; `run` then saves cursors and returns."""
        self.stopping.set()

    async def run(self) -> None:
        per_connection = self.adapter.max_streams_per_connection
        ws_base = self.settings.ws_url or self.adapter.default_ws_url
        self.connections = [
            StreamConnection(
                name=f"{self.adapter.exchange}-{index}",
                adapter=self.adapter,
                ws_base=ws_base,
                subscriptions=self.subscriptions[start : start + per_connection],
                on_message=self.handle_message,
                on_connected=self._catch_up,
                settings=self.settings.connection,
                stopping=self.stopping,
            )
            for index, start in enumerate(range(0, len(self.subscriptions), per_connection))
        ]
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await asyncio.gather(*(connection.run() for connection in self.connections))
        finally:
            heartbeat.cancel()
            self.cursor_store.save(self.gate.cursors)
            await self.backfill.close()
            log.info("streamer stopped", extra={"published": self.published, "cursors_saved": len(self.gate.cursors)})

    async def handle_message(self, connection: str, message: str | bytes) -> None:
        """Everything a connection receives comes here: parse, then admit each closed bar in order."""
        try:
            bars = self.adapter.parse(message)
        except MalformedMessage as error:
            self.malformed += 1
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            # the message goes into the log line too: on Fargate the log is where a user can read it
            log.warning(
                "malformed message dropped",
                extra={"connection": connection, "error": str(error), "payload": text[:2000]},
            )
            self.dead_letters.put(f"{connection} ({self.adapter.connection_url('')})", str(error), text[:2000])
            return
        for bar in bars:
            await self._admit(bar)

    async def _admit(self, bar: BarClosed) -> None:
        stream = StreamKey.of(bar)
        async with self._lock(stream):
            admission = self.gate.admit(bar)
            if admission.verdict is Verdict.GAP:
                if not await self._fill(stream, admission.missing_from_ms, admission.missing_to_ms):
                    return  # keep the cursor: the next bar finds the same gap and tries again
                admission = self.gate.admit(bar)
            if admission.verdict is Verdict.PUBLISH:
                self._publish(bar)

    async def _catch_up(self, subscriptions: Sequence[Subscription]) -> None:
        """After (re)connecting: everything closed since each stream's cursor, over REST."""
        for sub in subscriptions:
            stream = self._stream(sub)
            async with self._lock(stream):
                cursor = self.gate.cursors.get(stream)
                if cursor is not None:
                    interval = timeframe_ms(sub.timeframe)
                    await self._fill(stream, cursor + interval, 2**62, confirm_gap=False)

    async def _fill(self, stream: StreamKey, from_ms: int, to_ms: int, *, confirm_gap: bool = True) -> bool:
        """Publish the closed bars in [from_ms, to_ms] from REST; True when the range is settled."""
        _, symbol, timeframe = stream
        try:
            bars = await self.backfill.closed_bars(symbol, timeframe, from_ms, to_ms)
        except Exception as error:  # REST trouble must not kill the stream; the gap is retried later
            log.warning("backfill failed", extra={"stream": stream.as_text(), "error": repr(error)})
            return False
        for bar in bars:
            if bar.close_time_ms >= now_ms():
                break  # not closed yet by our clock, whatever the server's says: the cursor never passes now
            if self.gate.admit(bar).verdict is Verdict.PUBLISH:
                self._publish(bar)
                self.backfilled += 1
                self.backfilled_per_stream[stream] = self.backfilled_per_stream.get(stream, 0) + 1
        last = self.gate.cursors.get(stream, from_ms - 1)
        to_ms = min(to_ms, _last_closed_open_ms(timeframe))
        if confirm_gap and last < to_ms:
            # REST answered and these minutes are closed: the exchange itself has no bars for them
            log.warning(
                "exchange has no bars for a gap; moving past it",
                extra={"stream": stream.as_text(), "from_ms": max(last + 1, from_ms), "to_ms": to_ms},
            )
            self.gate.cursors[stream] = to_ms
        return True

    def _publish(self, bar: BarClosed) -> None:
        self.sink(bar)
        self.gate.published(bar)
        self.published += 1
        self.last_publish_wall[StreamKey.of(bar)] = time.monotonic()

    def health(self) -> StreamerHealth:
        """What the heartbeat logs, also saved where a dashboard can read it."""
        now = time.monotonic()
        freshest = max(self.gate.cursors.values(), default=0)
        return StreamerHealth(
            streams=[
                StreamStatus(
                    stream=stream,
                    last_open_time_ms=cursor,
                    lag_bars=(freshest - cursor) // timeframe_ms(stream[2]),
                    backfilled=self.backfilled_per_stream.get(stream, 0),
                    seconds_since_publish=(
                        round(now - self.last_publish_wall[stream], 1) if stream in self.last_publish_wall else None
                    ),
                )
                for stream, cursor in sorted(self.gate.cursors.items())
            ],
            published=self.published,
            backfilled=self.backfilled,
            malformed=self.malformed,
            reconnects=sum(c.reconnects for c in self.connections),
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            health = self.health()
            log.info(
                "streamer heartbeat",
                extra={
                    "published": health.published,
                    "backfilled": health.backfilled,
                    "malformed": health.malformed,
                    "reconnects": health.reconnects,
                    "lag_bars": {"|".join(s.stream[1:]): s.lag_bars for s in health.streams},
                    "seconds_since_publish": {
                        "|".join(s.stream[1:]): s.seconds_since_publish
                        for s in health.streams
                        if s.seconds_since_publish is not None
                    },
                },
            )
            self.cursor_store.save(self.gate.cursors)

    def _lock(self, stream: StreamKey) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock

    def _stream(self, sub: Subscription) -> StreamKey:
        return StreamKey(self.adapter.exchange, sub.symbol, sub.timeframe)


def _last_closed_open_ms(timeframe: str) -> int:
    interval = timeframe_ms(timeframe)
    return (now_ms() // interval - 1) * interval


def _not_after_now(cursors: dict[StreamKey, int]) -> dict[StreamKey, int]:
    """Saved cursors, each at most the last bar closed by now: a cursor in the future (saved by an
    older version after a bar dated ahead) would make every real bar look like a duplicate."""
    kept = {}
    for stream, cursor in cursors.items():
        latest = _last_closed_open_ms(stream[2])
        if cursor > latest:
            log.warning("saved cursor is in the future; resuming from now", extra={"stream": stream.as_text()})
        kept[stream] = min(cursor, latest)
    return kept
