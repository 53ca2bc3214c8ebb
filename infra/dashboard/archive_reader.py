"""The bars of a deployment, for the dashboard's charts: read from the streamer's S3 spans (events/bar_archive.py).

A span that ended more than `SETTLED_MS` ago no longer changes (late bars come within minutes), so it is read
once and kept; the current one is read again on each refresh that needs it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from events.bar_archive import PREFIX, decode_object, span_key, span_ms
from events.models import BarClosed
from events.streams import StreamKey

SETTLED_MS = 10 * 60_000
KEEP_SPANS = 2_000  # settled spans kept in memory (a month of hours is 720)

Span = dict[str, dict[int, BarClosed]]  # symbol → open time → bar


class ArchiveReader:
    def __init__(self, client: Any, bucket: str, now_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.client = client
        self.bucket = bucket
        self.now_ms = now_ms
        self._settled: OrderedDict[str, Span] = OrderedDict()

    def closes(self, stream: StreamKey, times: list[int]) -> dict[int, float]:
        """The close at each of `times` that the archive holds (one read per span they fall in)."""
        found: dict[int, float] = {}
        for at in times:
            bar = self._span(stream, span_key(stream.exchange, stream.timeframe, at)).get(stream.symbol, {}).get(at)
            if bar is not None:
                found[at] = float(bar.close)
        return found

    def edge(self, stream: StreamKey, *, oldest: bool) -> BarClosed | None:
        """The stream's first (or last) bar in the archive."""
        keys = self._keys(stream)
        for key in keys if oldest else reversed(keys):
            bars = self._span(stream, key).get(stream.symbol)
            if bars:
                return bars[min(bars) if oldest else max(bars)]
        return None

    def _keys(self, stream: StreamKey) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{PREFIX}/{stream.exchange}/{stream.timeframe}/"
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def _span(self, stream: StreamKey, key: str) -> Span:
        if key in self._settled:
            return self._settled[key]
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            body = b""
        span: Span = {}
        for read in decode_object(body, f"s3://{self.bucket}/{key}"):
            if isinstance(read, BarClosed):
                span.setdefault(read.symbol, {})[read.open_time_ms] = read
        if body and self._ended(stream, span):
            self._settled[key] = span
            while len(self._settled) > KEEP_SPANS:
                self._settled.popitem(last=False)
        return span

    def _ended(self, stream: StreamKey, span: Span) -> bool:
        any_bar = next((bar for bars in span.values() for bar in bars.values()), None)
        if any_bar is None:
            return False
        start = any_bar.open_time_ms - any_bar.open_time_ms % span_ms(stream.timeframe)
        return self.now_ms() > start + span_ms(stream.timeframe) + SETTLED_MS
