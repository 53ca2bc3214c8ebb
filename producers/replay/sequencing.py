"""Per-stream order of recorded bars: repeats skipped, rows going back in time refused, gaps reported."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from events.dead_letters import DeadLetters
from events.models import BarClosed
from events.streams import StreamKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing from a stream: reported, never filled in with made-up bars."""

    exchange: str
    symbol: str
    timeframe: str
    after_open_time_ms: int
    next_open_time_ms: int
    missing_bars: int


def in_sequence(
    rows: Iterable[tuple[str, BarClosed]],
    dead_letters: DeadLetters,
    on_gap: Callable[[Gap], None] | None = None,
) -> Iterator[BarClosed]:
    """`rows` are (origin, bar) of possibly several streams; each stream must step forward in time."""
    last_seen: dict[StreamKey, BarClosed] = {}
    for origin, bar in rows:
        key = StreamKey.of(bar)
        previous = last_seen.get(key)
        if previous is not None:
            step = bar.open_time_ms - previous.open_time_ms
            interval = bar.interval_ms
            if step != interval:
                if step == 0 and bar == previous:
                    continue  # the same bar twice (overlapping files): keep one
                if step <= 0:
                    dead_letters.put(
                        origin,
                        f"bar {bar.symbol} {bar.open_time_ms} goes back in time (previous {previous.open_time_ms})"
                        if step < 0
                        else f"bar {bar.symbol} {bar.open_time_ms} repeats the previous open time with other values",
                        bar.model_dump(mode="json"),
                    )
                    continue
                gap = Gap(*key, previous.open_time_ms, bar.open_time_ms, step // interval - 1)
                log.warning(
                    "gap in recorded bars: %s %s %s: %d bar(s) missing after %d (at %s)",
                    *key,
                    gap.missing_bars,
                    gap.after_open_time_ms,
                    origin,
                )
                if on_gap is not None:
                    on_gap(gap)
        last_seen[key] = bar
        yield bar
