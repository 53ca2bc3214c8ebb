"""Per-stream order of published bars: the pure rule behind 'no bar lost, none doubled'."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from events.models import BarClosed
from events.streams import StreamKey


class Verdict(Enum):
    PUBLISH = "publish"  # the next bar of its stream
    DUPLICATE = "duplicate"  # already published (overlapping connections, repeats, late backfill)
    GAP = "gap"  # bars are missing before it: backfill them first


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    missing_from_ms: int = 0  # with GAP: the first missing open time
    missing_to_ms: int = 0  # with GAP: the last missing open time


class BarGate:
    """Remembers the last published open time per stream (the cursor); decides what a bar is."""

    def __init__(self, cursors: dict[StreamKey, int] | None = None) -> None:
        self.cursors: dict[StreamKey, int] = dict(cursors or {})

    def admit(self, bar: BarClosed) -> Admission:
        last = self.cursors.get(StreamKey.of(bar))
        if last is None:
            return Admission(Verdict.PUBLISH)  # nothing known yet: the stream starts here
        if bar.open_time_ms <= last:
            return Admission(Verdict.DUPLICATE)
        interval = bar.interval_ms
        if bar.open_time_ms == last + interval:
            return Admission(Verdict.PUBLISH)
        return Admission(Verdict.GAP, last + interval, bar.open_time_ms - interval)

    def published(self, bar: BarClosed) -> None:
        self.cursors[StreamKey.of(bar)] = bar.open_time_ms
