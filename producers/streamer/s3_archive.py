"""The streamer's side of the bar archive: each span object in S3 rewritten, whole, before its bars are published.

The layout is `events.bar_archive`'s. One object per exchange, timeframe and span; one `BarsClosed` line per
open time holding every row published for it so far, each (symbol, open time) once, however often a restart
re-publishes it. Recent spans stay in memory, so a minute costs one PUT; the first write to a span this
process does not hold (after a restart) GETs what is there first, so nothing written earlier is lost.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from events.bar_archive import encode_line, span_key
from events.codec import describe_errors
from events.models import BarsClosed, MinuteBar

log = logging.getLogger(__name__)

KEEP_SPANS = 4  # the span being written, the one before it (late bars), and room for a backfill crossing spans


@dataclass
class _Span:
    exchange: str
    timeframe: str
    rows: dict[int, dict[str, MinuteBar]] = field(default_factory=dict)  # open time → symbol → row
    lines: dict[int, bytes] = field(default_factory=dict)  # encoded rows per open time, until they change
    unreadable: list[bytes] = field(default_factory=list)  # lines found in S3 that are no batch: kept as they are
    dirty: bool = False  # holds rows S3 does not have yet

    def add(self, batch: BarsClosed) -> None:
        rows = self.rows.setdefault(batch.open_time_ms, {})
        for row in batch.bars:
            if row.symbol not in rows:  # a re-published bar is the same fact: its first row stays
                rows[row.symbol] = row
                self.lines.pop(batch.open_time_ms, None)
                self.dirty = True

    def body(self) -> bytes:
        for open_time_ms in self.rows.keys() - self.lines.keys():
            batch = BarsClosed.trusted(
                exchange=self.exchange,
                timeframe=self.timeframe,
                open_time_ms=open_time_ms,
                bars=list(self.rows[open_time_ms].values()),
            )
            self.lines[open_time_ms] = encode_line(batch)
        return b"".join([*(self.lines[at] for at in sorted(self.lines)), *self.unreadable])


class SpanArchive:
    """Writes batches into their span objects in one bucket; raises (the caller retries) when S3 fails."""

    def __init__(self, client: Any, bucket: str, keep_spans: int = KEEP_SPANS) -> None:
        self.client = client
        self.bucket = bucket
        self.keep_spans = keep_spans
        self.puts = 0
        self.gets = 0
        self._spans: OrderedDict[str, _Span] = OrderedDict()

    def write(self, batches: Sequence[BarsClosed]) -> None:
        """Every span these batches fall in holds their rows in S3 when this returns."""
        touched: list[str] = []
        for batch in batches:
            key = span_key(batch.exchange, batch.timeframe, batch.open_time_ms)
            if key not in touched:
                touched.append(key)
            self._span(key, batch).add(batch)
        for key in touched:
            span = self._spans[key]
            if span.dirty:
                body = span.body()
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
                self.puts += 1
                span.dirty = False
            self._spans.move_to_end(key)
        self._forget_old()

    def _span(self, key: str, batch: BarsClosed) -> _Span:
        span = self._spans.get(key)
        if span is None:
            span = _Span(batch.exchange, batch.timeframe)
            for line in self._existing_lines(key):
                self._restore(span, key, line)
            self._spans[key] = span
        return span

    def _existing_lines(self, key: str) -> list[bytes]:
        self.gets += 1
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return []
            raise
        return [line for line in answer["Body"].read().splitlines() if line.strip()]

    def _restore(self, span: _Span, key: str, line: bytes) -> None:
        try:
            batch = BarsClosed.model_validate_json(line)
        except ValidationError as error:
            log.warning(
                "archive line is no batch of bars; kept as it is",
                extra={"object": f"s3://{self.bucket}/{key}", "error": describe_errors(error)},
            )
            span.unreadable.append(line + b"\n")
            return
        span.add(batch)
        span.dirty = False  # these rows came from S3

    def _forget_old(self) -> None:
        while len(self._spans) > self.keep_spans:
            oldest = next(iter(self._spans))
            if self._spans[oldest].dirty:
                return
            del self._spans[oldest]
