"""Per-stream order of recorded bars: repeats skipped, rows going back in time refused, gaps reported."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from events.dead_letters import DeadLetters
from events.models import BarClosed
from events.streams import StreamKey
from producers.replay.rows import InvalidBarRow

log = logging.getLogger(__name__)
Rows = TypeVar("Rows", bound=Sequence[Any])  # a list of rows, or a columnar file's view of some
PIECE_ROWS = 256


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing from a stream: reported, never filled in with made-up bars."""

    exchange: str
    symbol: str
    timeframe: str
    after_open_time_ms: int
    next_open_time_ms: int
    missing_bars: int


class StreamOrder:
    """Where one stream is in time. The bar that opens at `next_open_ms` follows the last one let through (one
    comparison, made by the reader); any other goes through `admits`, which reports or refuses it."""

    __slots__ = ("_dead_letters", "_on_gap", "last", "next_open_ms")

    def __init__(self, dead_letters: DeadLetters, on_gap: Callable[[Gap], None] | None) -> None:
        self._dead_letters = dead_letters
        self._on_gap = on_gap
        self.last: BarClosed | None = None
        self.next_open_ms = -1  # no bar opens before the epoch: the first bar goes through `admits`

    def advance(self, bar: BarClosed) -> None:
        """`bar` was let through: the stream's next bar opens when it closes."""
        self.last, self.next_open_ms = bar, bar.close_time_ms + 1

    def admits(self, bar: BarClosed, origin: str) -> bool:
        """Whether `bar` (not the next one) is let through: a gap is reported and let through, the same bar again
        is dropped, a bar back in time (or with other values at the same time) is dead-lettered with `origin`."""
        previous = self.last
        if previous is None:
            return True
        step = bar.open_time_ms - previous.open_time_ms
        interval = bar.interval_ms
        if step == interval:
            return True
        if step == 0 and bar == previous:
            return False  # the same bar twice (overlapping files): keep one
        if step <= 0:
            self._dead_letters.put(
                origin,
                f"bar {bar.symbol} {bar.open_time_ms} goes back in time (previous {previous.open_time_ms})"
                if step < 0
                else f"bar {bar.symbol} {bar.open_time_ms} repeats the previous open time with other values",
                bar.model_dump(mode="json"),
            )
            return False
        gap = Gap(
            bar.exchange, bar.symbol, bar.timeframe, previous.open_time_ms, bar.open_time_ms, step // interval - 1
        )
        log.warning(
            "gap in recorded bars: %s %s %s: %d bar(s) missing after %d (at %s)",
            gap.exchange,
            gap.symbol,
            gap.timeframe,
            gap.missing_bars,
            gap.after_open_time_ms,
            origin,
        )
        if self._on_gap is not None:
            self._on_gap(gap)
        return True


def ordered_bars(  # noqa: PLR0917 (a reader's parts, each named)
    runs: Iterable[tuple[int, Rows]],
    run_bars: Callable[[Rows], list[BarClosed] | None],
    bar_of: Callable[[Any], BarClosed],
    origin_prefix: str,
    order: StreamOrder,
    dead_letters: DeadLetters,
) -> Iterator[BarClosed]:
    """The bars of one stream's rows, given as runs of (number of the first row, rows). A run `run_bars` reads whole
    (every row good, one interval apart) that follows the stream's last bar goes at once; any other is read row by
    row: a row `bar_of` refuses is dead-lettered whole as `<origin_prefix><number>`, and `order` keeps the stream
    stepping forward in time."""
    for first, rows in _pieces(runs):
        bars = run_bars(rows)
        if bars and (order.last is None or bars[0].open_time_ms == order.next_open_ms):
            order.advance(bars[-1])
            yield from bars
            continue
        for number, row in enumerate(rows, first):
            try:
                bar = bar_of(row)
            except InvalidBarRow as error:
                dead_letters.put(f"{origin_prefix}{number}", str(error), row)
                continue
            open_time_ms = bar.open_time_ms
            if open_time_ms != order.next_open_ms and not order.admits(bar, f"{origin_prefix}{number}"):
                continue
            order.advance(bar)
            yield bar


def _pieces(runs: Iterable[tuple[int, Rows]]) -> Iterator[tuple[int, Rows]]:
    """Runs cut to pieces of up to PIECE_ROWS rows (never none): the bars of a piece are alive at once, and few
    live objects keep the garbage collector's passes short."""
    for first, rows in runs:
        for start in range(0, len(rows), PIECE_ROWS):
            yield first + start, rows[start : start + PIECE_ROWS]  # type: ignore[misc]  # a slice of Rows is Rows


def in_sequence(
    rows: Iterable[tuple[str, BarClosed]],
    dead_letters: DeadLetters,
    on_gap: Callable[[Gap], None] | None = None,
) -> Iterator[BarClosed]:
    """`rows` are (origin, bar) of possibly several streams (a recording); each stream must step forward in time."""
    orders: dict[StreamKey, StreamOrder] = {}
    for origin, bar in rows:
        key = StreamKey.of(bar)
        order = orders.get(key)
        if order is None:
            order = orders[key] = StreamOrder(dead_letters, on_gap)
        if bar.open_time_ms != order.next_open_ms and not order.admits(bar, origin):
            continue
        order.advance(bar)
        yield bar
