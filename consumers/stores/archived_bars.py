"""The bar store of a strategy function on AWS: windows in the warm function's memory, restored from the
streamer's S3 spans (events/bar_archive.py) when a window reaches past what the function was given.

A warm function is handed every minute's bars of its symbols and keeps them; only a cold start, or a
window over bars it never saw (another instance was given them), reads S3: one GET per span of 60 bars.
The streamer writes a bar's span before it publishes the bar, so a span read after the newest bar this
function was given holds every bar up to it: a span is read again only once a newer bar has arrived.
Nothing here writes a bar anywhere but memory: the streamer writes each bar once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from consumers.stores.memory import MemoryBarStore
from consumers.stores.ports import StreamKey
from consumers.strategies.window import Window
from events.bar_archive import ArchiveLineError, decode_object, span_keys
from events.dead_letters import DeadLetters
from events.models import BarClosed
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
        self._latest = -1  # the newest open time given, over every stream

    def add(self, bar: BarClosed) -> bool:
        stream = StreamKey(bar.exchange, bar.symbol, bar.timeframe)
        if bar.open_time_ms > self._newest.get(stream, -1):
            self._newest[stream] = bar.open_time_ms
            self._latest = max(self._latest, bar.open_time_ms)
        return self.memory.add(bar)

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        window = self.memory.window(stream, end_open_time_ms, length)
        newest = self._newest.get(stream)
        if window is not None or (newest is not None and end_open_time_ms > newest):
            return window  # a window past the newest bar is the probe for a bar still to come: S3 has none either
        first = end_open_time_ms - (length - 1) * timeframe_ms(stream.timeframe)
        keys = span_keys(stream.exchange, stream.timeframe, first, end_open_time_ms)
        stale = [key for key in keys if self.fetched.get(key, -1) < self._latest]
        for key in stale:
            self.fetched[key] = self._latest
            self._fetch(key)
        return self.memory.window(stream, end_open_time_ms, length) if stale else None

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
