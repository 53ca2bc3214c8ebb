"""Spans of time as [start_ms, end_ms): merged, subtracted, and cut at UTC months and days (the archive's files)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

Span = tuple[int, int]  # [start_ms, end_ms)
DAY_MS = 86_400_000


def merged(spans: Iterable[Span]) -> list[Span]:
    """The same time as few spans as possible, in order; empty spans dropped."""
    result: list[Span] = []
    for start, end in sorted(span for span in spans if span[0] < span[1]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def missing(wanted: Span, covered: Iterable[Span]) -> list[Span]:
    """The parts of `wanted` that no covered span holds, in order."""
    start, end = wanted
    gaps: list[Span] = []
    for covered_start, covered_end in merged(covered):
        if covered_end <= start or covered_start >= end:
            continue
        if covered_start > start:
            gaps.append((start, covered_start))
        start = max(start, covered_end)
    if start < end:
        gaps.append((start, end))
    return gaps


def month_start_ms(ms: int) -> int:
    moment = _utc(ms)
    return _ms(datetime(moment.year, moment.month, 1, tzinfo=UTC))


def next_month_ms(ms: int) -> int:
    moment = _utc(month_start_ms(ms))
    return _ms(datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC))


def months(span: Span) -> Iterator[Span]:
    """The span cut at UTC month boundaries."""
    start, end = span
    while start < end:
        boundary = next_month_ms(start)
        yield start, min(boundary, end)
        start = boundary


def whole_days(span: Span) -> list[Span]:
    """The UTC days that lie wholly inside the span."""
    first = -(-span[0] // DAY_MS) * DAY_MS
    return [(day, day + DAY_MS) for day in range(first, span[1] - DAY_MS + 1, DAY_MS)]


def month_label(ms: int) -> str:
    return _utc(ms).strftime("%Y-%m")


def day_label(ms: int) -> str:
    return _utc(ms).strftime("%Y-%m-%d")


def shown(ms: int) -> str:
    """A time for people: `2024-01-05 13:07` (UTC)."""
    return _utc(ms).strftime("%Y-%m-%d %H:%M")


def _utc(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
