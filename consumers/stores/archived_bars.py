"""The bar store of a strategy function on AWS: windows in the warm function's memory, restored from the
streamer's S3 spans (events/bar_archive.py) when a window reaches past what the function was given.

A warm function is handed every minute's bars of its symbols and keeps them; only a cold start, or a
window over bars it never saw (another instance was given them), reads S3: one GET per span of 60 bars.
The streamer writes a bar's span before it publishes the bar, so a span read after bar N was given holds
every bar up to N that will ever be published on time: the span is read again only for a window that needs
its bars after N. Bars the streamer recovers later (a backfill) come as a late batch, which adds them here.
Nothing here writes a bar anywhere but memory: the streamer writes each bar once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from consumers.stores.memory import MemoryBarStore
from consumers.strategies.window import Window
from events.bar_archive import ArchiveLineError, decode_object, span_key, span_ms, span_start
from events.dead_letters import DeadLetters
from events.models import BarClosed
from events.streams import StreamKey
from events.timeframes import timeframe_ms


class ArchivedBars:
    def __init__(
        self,
        client: Any,
        bucket: str,
        memory: MemoryBarStore,
        dead_letters: DeadLetters,
        *,
        wanted: Callable[[BarClosed], bool] = lambda bar: True,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.memory = memory
        self.dead_letters = dead_letters
        self.wanted = wanted  # which of a span's bars to keep (a span holds every symbol of the exchange)
        self.fetched: dict[str, int] = {}  # span key → the newest open time given to this store when it was read
        self._newest: dict[StreamKey, int] = {}
        self._run_start: dict[StreamKey, int] = {}  # first open time of the unbroken run ending at the newest bar
        self._latest = -1  # the newest open time given, over every stream

    def add(self, bar: BarClosed) -> bool:
        stream = StreamKey.of(bar)
        added = self.memory.add(bar)
        interval = bar.interval_ms
        newest = self._newest.get(stream)
        if newest is None or bar.open_time_ms > newest + interval:
            self._run_start[stream] = bar.open_time_ms  # a gap behind it (or the first bar): a new run
        if newest is None or bar.open_time_ms > newest:
            self._newest[stream] = bar.open_time_ms
            self._latest = max(self._latest, bar.open_time_ms)
        self._extend_run(stream, interval)
        return added

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        window = self.memory.window(stream, end_open_time_ms, length)
        newest = self._newest.get(stream)
        if window is not None or (newest is not None and end_open_time_ms > newest):
            return window  # a window past the newest bar is the probe for a bar still to come: S3 has none either
        interval = timeframe_ms(stream.timeframe)
        first = end_open_time_ms - (length - 1) * interval
        # the newest bar of the window that memory lacks: the one before the run of bars ending at the newest
        run_start = self._run_start.get(stream)
        missing = run_start - interval if run_start is not None and end_open_time_ms >= run_start else end_open_time_ms
        step = span_ms(stream.timeframe)
        read = False
        for start in range(span_start(stream.timeframe, first), missing + 1, step):
            key = span_key(stream.exchange, stream.timeframe, start)
            # read before the last bar the window lacks from this span was published: read it (again)
            if self.fetched.get(key, -1) < min(missing, start + step - 1):
                self.fetched[key] = self._latest
                self._fetch(key)
                read = True
        if not read:
            return None
        self._extend_run(stream, interval)
        return self.memory.window(stream, end_open_time_ms, length)

    def _extend_run(self, stream: StreamKey, interval: int) -> None:
        """Move the run's start back over bars memory already holds (each bar is passed once)."""
        start = self._run_start.get(stream)
        if start is None:
            return
        while self.memory.window(stream, start - interval, 1) is not None:
            start -= interval
        self._run_start[stream] = start

    def _fetch(self, key: str) -> None:
        origin = f"s3://{self.bucket}/{key}"
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return  # nothing was streamed in that span
            raise
        for read in decode_object(body, origin):
            if isinstance(read, ArchiveLineError):
                self.dead_letters.put(origin, str(read), {})
            elif self.wanted(read):
                self.add(read)
