"""A window of consecutive closed bars, oldest first: float views for indicators, and exact rolling
aggregates (`sma`, `highest`, `lowest`) that cost the same whatever the window's length."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from consumers.strategies.series import BarSeries
from events.models import BarClosed

T = TypeVar("T")


class _kept(Generic[T]):  # noqa: N801 (used as a decorator, like the functools.cached_property it stands for)
    """`functools.cached_property` without the lock Python 3.11 takes on every first read: a window is
    made per decision and its views are read once or twice, so that lock was most of their cost."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self._name = compute.__name__

    @overload
    def __get__(self, window: None, owner: type | None = None) -> _kept[T]: ...
    @overload
    def __get__(self, window: object, owner: type | None = None) -> T: ...
    def __get__(self, window: object | None, owner: type | None = None) -> T | _kept[T]:
        if window is None:
            return self
        value = window.__dict__[self._name] = self._compute(window)  # read from there next time
        return value


class InformativeUnavailable(LookupError):
    """`window.informative(...)` read from a window no strategy consumer made (a test's own list of bars)."""


class WindowGone(LookupError):
    """A window read after its bars left the store's retention: copy what you keep past the decision."""


class Window:
    """The `length` bars ending at the bar being decided on; complete (no gaps) by construction.

    A store's window is a view over its series, made in O(1): the float views (`closes`, `highs`, ...)
    are sliced on first use, and the aggregates answer from the series' running sums and range
    tables without touching every bar. The bars keep their exact Decimals for anything that touches
    money; the aggregates are Decimals too, exact up to the one rounding of a division.
    """

    __slots__ = ("__dict__", "_length", "_means", "_reordered", "_series", "_start", "last")

    def __init__(self, bars: Sequence[BarClosed]) -> None:
        """A window of exactly these bars (oldest first), for stores and tests that hold a list."""
        if not bars:
            raise ValueError("a window holds at least one bar")
        self._bind(BarSeries.of(bars), 0, len(bars))

    @classmethod
    def over(cls, series: BarSeries, start: int, stop: int) -> Window:
        """The bars at positions [start, stop) of `series`, without copying them (`_bind`'s fields, set here: a
        store makes a window per bar and lookback)."""
        window = cls.__new__(cls)
        window._series = series
        window._start = series.trimmed + start
        window._length = stop - start
        window._reordered = series.reordered
        window.last = series.bars[stop - 1]
        window._means = series.means_ending(stop)
        return window

    def _bind(self, series: BarSeries, start: int, stop: int) -> None:
        self._series = series
        self._start = series.trimmed + start  # counted from the series' first bar ever, so trims do not move it
        self._length = stop - start
        self._reordered = series.reordered
        self.last: BarClosed = series.bars[stop - 1]  # the bar decided on: read by every decision
        # sma(n) asked of this window, shared with every window ending at the same bar (the strategies deciding
        # on it): its bars never change (complete, so nothing can be slotted in), nor do their means
        self._means: dict[int, Decimal] = series.means_ending(stop)

    def _span(self) -> tuple[int, int]:
        """Current positions [start, stop) of this window's bars in its series."""
        series = self._series
        if series.reordered != self._reordered:  # a late bar was slotted in before: find the end again
            end = series.position_of(self.last.open_time_ms)
            self._start = -1 if end is None else series.trimmed + end - self._length + 1
            self._reordered = series.reordered
        start = self._start - series.trimmed
        if start < 0:
            raise WindowGone(
                f"the window ending at {self.last.open_time_ms} is no longer held by its store: "
                "copy the views you keep past the decision (list(window.closes))"
            )
        return start, start + self._length

    def __len__(self) -> int:
        return self._length

    @_kept
    def bars(self) -> Sequence[BarClosed]:
        start, stop = self._span()
        return self._series.bars[start:stop]

    @_kept
    def closes(self) -> Sequence[float]:
        start, stop = self._span()
        return self._series.float_views()[0][start:stop]

    @_kept
    def highs(self) -> Sequence[float]:
        start, stop = self._span()
        return self._series.float_views()[1][start:stop]

    @_kept
    def lows(self) -> Sequence[float]:
        start, stop = self._span()
        return self._series.float_views()[2][start:stop]

    @_kept
    def opens(self) -> Sequence[float]:
        return [float(bar.open) for bar in self.bars]

    @_kept
    def volumes(self) -> Sequence[float]:
        return [float(bar.volume) for bar in self.bars]

    def informative(self, timeframe: str, symbol: str | None = None) -> Window | None:
        """The recent closed bars of a stream the strategy's line declares as informative (`informative = ["1h",
        "BTC/USDT@1d"]`): as many as the strategy's lookback, ending at the newest bar this decision may see, or
        None while any is missing. See `consumers/strategies/informative.py` for which bars that is."""
        reader = self.__dict__.get("informative_bars")
        if reader is None:
            raise InformativeUnavailable("this window has no informative bars: declare them in the strategy's line")
        found: Window | None = reader.window(timeframe, symbol)
        return found

    def sma(self, n: int) -> Decimal:
        """Mean close of the last `n` bars: their exact sum divided by n in the current Decimal context."""
        mean = self._means.get(n)
        if mean is None:
            start, stop = self._last(n, 0)
            mean = self._means[n] = self._series.mean_close(start, stop)
        return mean

    def highest(self, n: int, ago: int = 0) -> Decimal:
        """Highest high of `n` bars ending `ago` bars before the last (ago=1: the bars before it)."""
        start, stop = self._last(n, ago)
        return self._series.highest_high(start, stop)

    def lowest(self, n: int, ago: int = 0) -> Decimal:
        """Lowest low of `n` bars ending `ago` bars before the last."""
        start, stop = self._last(n, ago)
        return self._series.lowest_low(start, stop)

    def _last(self, n: int, ago: int) -> tuple[int, int]:
        if not 0 < n <= self._length - ago or ago < 0:
            raise ValueError(f"{n} bars ending {ago} before the last do not fit a window of {self._length}")
        series = self._series
        start = self._start - series.trimmed
        if series.reordered != self._reordered or start < 0:  # the rare case: let _span find it or say why not
            start = self._span()[0]
        stop = start + self._length - ago
        return stop - n, stop
