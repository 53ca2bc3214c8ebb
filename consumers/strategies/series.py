"""One stream's recent bars in open-time order, with what windows over it need at O(1) a bar.

Appending is amortised O(1) (the oldest half is dropped at once when the series holds twice its
retention); exact running sums and range extremes are kept beside the bars only once a strategy
asks for them, so a window's `sma`, `highest` and `lowest` cost the same whatever its length.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from operator import attrgetter

from events.models import BarClosed

# Additions and subtractions in this context never round (a sum needs at most a few digits more than
# its widest term), so a running sum is the exact sum however many bars it spans.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

ValueOf = Callable[[BarClosed], Decimal]
Pick = Callable[[Decimal, Decimal], Decimal]


_close: ValueOf = attrgetter("close")  # read in C, once per bar


_high: ValueOf = attrgetter("high")  # read in C, once per bar


_low: ValueOf = attrgetter("low")  # read in C, once per bar


class RunningSums:
    """Exact prefix sums of one column: `sums[i]` is the sum of the first i values, so the sum of any
    span is one subtraction."""

    __slots__ = ("sums", "value_of")

    def __init__(self, value_of: ValueOf, bars: Sequence[BarClosed]) -> None:
        self.value_of = value_of
        self.sums = [Decimal(0)]
        self.extend(bars)

    def append(self, bar: BarClosed) -> None:
        sums = self.sums
        sums.append(EXACT.add(sums[-1], self.value_of(bar)))

    def extend(self, bars: Sequence[BarClosed]) -> None:
        sums, add, value_of = self.sums, EXACT.add, self.value_of
        total = sums[-1]
        for bar in bars:
            total = add(total, value_of(bar))
            sums.append(total)

    def redo_from(self, index: int, bars: Sequence[BarClosed]) -> None:
        del self.sums[index + 1 :]
        self.extend(bars[index:])

    def trim(self, drop: int) -> None:
        del self.sums[:drop]


class RangeExtremes:
    """A sparse table over one column: `levels[k][i]` is the extreme (max or min) of the 2**k values
    from i, so the extreme of any span is the extreme of two overlapping entries. Levels are built
    as longer spans are asked for; appending costs one comparison per level."""

    __slots__ = ("levels", "pick", "value_of")

    def __init__(self, pick: Pick, value_of: ValueOf, bars: Sequence[BarClosed]) -> None:
        self.pick = pick
        self.value_of = value_of
        self.levels = [[value_of(bar) for bar in bars]]

    def append(self, bar: BarClosed) -> None:
        levels, pick = self.levels, self.pick
        levels[0].append(self.value_of(bar))
        count = len(levels[0])
        for k in range(1, len(levels)):
            first = count - (1 << k)
            if first < 0:
                break
            below = levels[k - 1]
            levels[k].append(pick(below[first], below[first + (1 << (k - 1))]))

    def rebuild(self, bars: Sequence[BarClosed]) -> None:
        depth = len(self.levels)
        self.levels = [[self.value_of(bar) for bar in bars]]
        self._build(depth - 1)

    def trim(self, drop: int) -> None:
        for level in self.levels:
            del level[:drop]

    def extreme(self, start: int, stop: int) -> Decimal:
        k = (stop - start).bit_length() - 1
        if k >= len(self.levels):
            self._build(k)
        level = self.levels[k]
        return self.pick(level[start], level[stop - (1 << k)])

    def _build(self, top: int) -> None:
        levels, pick = self.levels, self.pick
        while len(levels) <= top:
            below, half = levels[-1], 1 << (len(levels) - 1)
            levels.append([pick(below[i], below[i + half]) for i in range(len(below) - half)])


class BarSeries:
    """Bars of one stream by open time; out-of-order bars are slotted into place.

    `trimmed` counts the bars ever dropped from the front and `reordered` the bars ever slotted in
    before the newest, so a window made earlier can tell whether its positions still hold.
    """

    __slots__ = (
        "_close_sums",
        "_highest",
        "_lowest",
        "_means",
        "bars",
        "closes",
        "highs",
        "interval_ms",
        "lows",
        "reordered",
        "retention_bars",
        "times",
        "trimmed",
    )

    def __init__(self, interval_ms: int, retention_bars: int | None = None) -> None:
        self.interval_ms = interval_ms
        self.retention_bars = retention_bars  # None: keep every bar
        self.times: list[int] = []
        self.bars: list[BarClosed] = []
        self.closes: list[float] = []  # float views of bars[:len(closes)], extended on first use (float_views)
        self.highs: list[float] = []
        self.lows: list[float] = []
        self.trimmed = 0
        self.reordered = 0
        self._close_sums: RunningSums | None = None
        self._highest: RangeExtremes | None = None
        self._lowest: RangeExtremes | None = None
        # mean closes by n, per window end, asked since the last bar came: the strategies of one run (a sweep's
        # many parameter sets) ask the same sma(n) of the same bar, whatever their windows' lengths. Keyed by the
        # end's position counted from the first bar ever and by the reorder count, an entry stays true (a window
        # keeps its own); a new bar empties this only so that it holds one bar's worth
        self._means: dict[tuple[int, int], dict[int, Decimal]] = {}

    @classmethod
    def of(cls, bars: Sequence[BarClosed]) -> BarSeries:
        """A series holding exactly these bars, in the order given (a window built from a list)."""
        interval_ms = bars[0].interval_ms if bars else 1
        series = cls(interval_ms)
        series.bars = list(bars)
        series.times = [bar.open_time_ms for bar in bars]
        return series

    def add(self, bar: BarClosed) -> bool:
        """Keep the bar; False for a duplicate, or a bar older than anything a window can still reach."""
        times = self.times
        open_time = bar.open_time_ms
        if self._means:
            self._means.clear()
        if not times or open_time > times[-1]:
            times.append(open_time)
            self.bars.append(bar)
            if self._close_sums is not None:
                self._close_sums.append(bar)
            if self._highest is not None:
                self._highest.append(bar)
            if self._lowest is not None:
                self._lowest.append(bar)
            if self.retention_bars is not None and len(times) >= 2 * self.retention_bars:
                self._trim(len(times) - self.retention_bars)
            return True
        if open_time == times[-1]:  # the newest bar again (every strategy of a local run adds it)
            return False
        index = bisect_left(times, open_time)
        if times[index] == open_time or (
            index == 0 and self.retention_bars is not None and len(times) >= self.retention_bars
        ):
            return False
        times.insert(index, open_time)
        self.bars.insert(index, bar)
        if index < len(self.closes):  # the float views cover the bars up to where they were last read
            self.closes.insert(index, float(bar.close))
            self.highs.insert(index, float(bar.high))
            self.lows.insert(index, float(bar.low))
        self.reordered += 1
        # rare (live bars arriving out of order): the aggregates after this bar are rebuilt
        if self._close_sums is not None:
            self._close_sums.redo_from(index, self.bars)
        for extremes in (self._highest, self._lowest):
            if extremes is not None:
                extremes.rebuild(self.bars)
        return True

    def position_of(self, open_time_ms: int) -> int | None:
        times = self.times
        if not times or open_time_ms > times[-1]:
            return None  # the usual catch-up probe: the next bar has not arrived yet
        if times[-1] == open_time_ms:
            return len(times) - 1
        index = bisect_left(times, open_time_ms)
        return index if index < len(times) and times[index] == open_time_ms else None

    def span_ending(self, end_open_time_ms: int, length: int) -> int | None:
        """Where the `length` consecutive bars ending at that open time start, or None if any is missing."""
        times = self.times
        end = len(times) - 1 if times and times[-1] == end_open_time_ms else self.position_of(end_open_time_ms)
        if end is None:
            return None
        start = end - length + 1
        # times are unique and sorted, so the span check proves there is no gap inside
        if start < 0 or self.times[start] != end_open_time_ms - (length - 1) * self.interval_ms:
            return None
        return start

    def first_complete_end(self, first_end_ms: int, last_end_ms: int, length: int) -> int | None:
        """The earliest open time in [first_end_ms, last_end_ms] that ends `length` consecutive bars.

        One look per run of consecutive bars in that range (one run when bars come in order), each
        found by bisection, instead of one look per candidate bar.
        """
        times, interval = self.times, self.interval_ms
        span = (length - 1) * interval
        index = bisect_left(times, first_end_ms)
        while index < len(times) and times[index] <= last_end_ms:
            back = index - length + 1
            if back >= 0 and times[back] == times[index] - span:
                return times[index]  # the usual case once warmed up: the first candidate is complete
            run_start, run_end = self._run_around(index)
            earliest = max(times[index], times[run_start] + span)
            if earliest <= times[run_end]:
                return earliest if earliest <= last_end_ms else None
            index = run_end + 1
        return None

    def _run_around(self, index: int) -> tuple[int, int]:
        """First and last positions of the run of consecutive bars holding position `index`."""
        times, interval, at = self.times, self.interval_ms, self.times[index]
        start = bisect_left(range(index + 1), True, key=lambda k: at - times[k] == (index - k) * interval)
        after = bisect_left(range(index, len(times)), True, key=lambda k: times[k] - at != (k - index) * interval)
        return start, index + after - 1

    def float_views(self) -> tuple[list[float], list[float], list[float]]:
        """Closes, highs and lows as floats, converted on first use: a strategy that reads only the exact
        aggregates (or nothing) never pays for them."""
        closes, bars = self.closes, self.bars
        if len(closes) < len(bars):
            added = bars[len(closes) :]
            closes.extend([float(bar.close) for bar in added])
            self.highs.extend([float(bar.high) for bar in added])
            self.lows.extend([float(bar.low) for bar in added])
        return closes, self.highs, self.lows

    def means_ending(self, stop: int) -> dict[int, Decimal]:
        """Where the mean closes of the n bars before position `stop` are kept, by n: one dict for every window
        ending there, so each strategy deciding on that bar reads a mean another has computed in one look."""
        end = (self.trimmed + stop, self.reordered)  # what this position holds, ever
        means = self._means.get(end)
        if means is None:
            means = self._means[end] = {}
        return means

    def mean_close(self, start: int, stop: int) -> Decimal:
        sums = (self._close_sums or self._sum_closes()).sums  # one call less than close_sum: asked per bar and n
        return EXACT.subtract(sums[stop], sums[start]) / (stop - start)

    def close_sum(self, start: int, stop: int) -> Decimal:
        sums = (self._close_sums or self._sum_closes()).sums
        return EXACT.subtract(sums[stop], sums[start])

    def _sum_closes(self) -> RunningSums:
        self._close_sums = RunningSums(_close, self.bars)
        return self._close_sums

    def highest_high(self, start: int, stop: int) -> Decimal:
        if self._highest is None:
            self._highest = RangeExtremes(max, _high, self.bars)
        return self._highest.extreme(start, stop)

    def lowest_low(self, start: int, stop: int) -> Decimal:
        if self._lowest is None:
            self._lowest = RangeExtremes(min, _low, self.bars)
        return self._lowest.extreme(start, stop)

    def _trim(self, drop: int) -> None:
        del self.times[:drop], self.bars[:drop], self.closes[:drop], self.highs[:drop], self.lows[:drop]
        self.trimmed += drop
        for aggregate in (self._close_sums, self._highest, self._lowest):
            if aggregate is not None:
                aggregate.trim(drop)
