"""Rolling aggregates of a window equal the naive computation over its bars, exactly, however the
series behind it grew (in order, out of order, trimmed); and the run index finds what probing finds."""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.strategies.series import BarSeries
from consumers.strategies.window import Window, WindowGone
from events.models import BarClosed

T0 = 1_674_259_200_000
MINUTE = 60_000
WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

# Decimal edge cases: far-apart exponents (a sum of them needs more than the default 28 digits),
# long significands, trailing zeros, tiny and huge magnitudes, negatives and zero.
prices = st.one_of(
    st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=8, allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal(text) for text in ("1E+28", "-1E+28", "1", "1E-30", "0.00", "-0")]),
    st.integers(min_value=-(10**40), max_value=10**40).map(Decimal),
)


def bar_at(minute: int, close: Decimal, high: Decimal, low: Decimal) -> BarClosed:
    """A bar with any values (trusted: the aggregates must be exact beyond what a checked bar allows)."""
    open_time_ms = T0 + minute * MINUTE
    return BarClosed.trusted(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1m",
        open_time_ms=open_time_ms,
        close_time_ms=open_time_ms + MINUTE - 1,
        open=close,
        high=high,
        low=low,
        close=close,
        volume=Decimal(1),
        quote_volume=None,
        trades=None,
    )


def naive_sma(bars: list[BarClosed]) -> Decimal:
    with localcontext(WIDE):
        total = sum((bar.close for bar in bars), Decimal(0))  # exact: nothing rounds in this context
    return total / len(bars)  # the one rounding, in the caller's context


@st.composite
def grown_series(draw: st.DrawFn) -> tuple[BarSeries, list[BarClosed]]:
    """A series fed bars in a shuffled order, with retention small enough to trim, and the bars it
    should hold. Aggregates are asked for part-way, so they are kept up while bars keep coming."""
    count = draw(st.integers(min_value=1, max_value=60))
    bars = [bar_at(minute, draw(prices), draw(prices), draw(prices)) for minute in range(count)]
    order = draw(st.permutations(range(count)))
    retention = draw(st.sampled_from([None, 8, 16]))
    series = BarSeries(MINUTE, retention)
    ask_at = draw(st.integers(min_value=0, max_value=count))
    for step, index in enumerate(order):
        if step == ask_at and series.bars:
            series.close_sum(0, len(series.bars))
            series.highest_high(0, len(series.bars))
            series.lowest_low(0, len(series.bars))
            series.float_views()  # converted up to here; later bars (and late ones before them) catch up
        series.add(bars[index])
    return series, series.bars


@settings(max_examples=300, deadline=None)
@given(grown=grown_series(), data=st.data())
def test_aggregates_equal_the_naive_computation_over_any_window(
    grown: tuple[BarSeries, list[BarClosed]], data: st.DataObject
) -> None:
    series, held = grown
    assert [bar.open_time_ms for bar in held] == sorted(bar.open_time_ms for bar in held)
    start = data.draw(st.integers(min_value=0, max_value=len(held) - 1))
    stop = data.draw(st.integers(min_value=start + 1, max_value=len(held)))
    window = Window.over(series, start, stop)
    bars = held[start:stop]
    assert list(window.bars) == bars
    assert (window.closes, window.highs, window.lows) == (
        [float(bar.close) for bar in bars],
        [float(bar.high) for bar in bars],
        [float(bar.low) for bar in bars],
    )
    n = data.draw(st.integers(min_value=1, max_value=len(bars)))
    ago = data.draw(st.integers(min_value=0, max_value=len(bars) - n))
    chosen = bars[len(bars) - ago - n : len(bars) - ago]
    assert window.sma(n) == naive_sma(bars[-n:])
    assert window.highest(n, ago) == max(bar.high for bar in chosen)
    assert window.lowest(n, ago) == min(bar.low for bar in chosen)
    listed = Window(bars)  # the same window built from a list, as a store without a series makes it
    assert (listed.sma(n), listed.highest(n, ago), listed.lowest(n, ago)) == (
        window.sma(n),
        window.highest(n, ago),
        window.lowest(n, ago),
    )


def test_a_sum_past_28_digits_stays_exact() -> None:
    bars = [bar_at(m, close, close, close) for m, close in enumerate([Decimal("1E+28"), Decimal(1), Decimal("-1E+28")])]
    # summed in the default context, 1E+28 + 1 rounds to 1E+28 and the mean would be 0
    assert sum((bar.close for bar in bars), Decimal(0)) == 0
    assert Window(bars).sma(3) == Decimal(1) / 3


def test_running_sums_stay_exact_over_a_long_series() -> None:
    series = BarSeries(MINUTE, retention_bars=50)
    closes = [Decimal(f"{10**20 + m}.{m:08d}") for m in range(1_000)]
    for minute, close in enumerate(closes):
        series.add(bar_at(minute, close, close, close))
        series.close_sum(0, len(series.bars))  # kept up bar by bar from the first one
    window = Window.over(series, len(series.bars) - 30, len(series.bars))
    assert window.sma(30) == naive_sma(series.bars[-30:])
    assert window.sma(30) * 30 != sum(closes[-30:])  # the default context rounds it: exactness was needed


def test_a_window_made_before_a_late_bar_still_holds_its_own_bars() -> None:
    series = BarSeries(MINUTE)
    bars = [bar_at(m, Decimal(m), Decimal(m), Decimal(m)) for m in range(10)]
    for bar in bars[:3] + bars[4:]:
        series.add(bar)
    window = Window.over(series, 5, 9)  # minutes 6..9
    series.add(bars[3])  # slotted in before it: its positions move by one
    assert list(window.bars) == bars[6:10]
    assert window.sma(4) == Decimal("7.5") and window.last == bars[9]


def test_a_window_read_after_its_bars_were_trimmed_says_so() -> None:
    series = BarSeries(MINUTE, retention_bars=4)
    for m in range(4):
        series.add(bar_at(m, Decimal(m), Decimal(m), Decimal(m)))
    window = Window.over(series, 0, 4)
    for m in range(4, 8):
        series.add(bar_at(m, Decimal(m), Decimal(m), Decimal(m)))
    with pytest.raises(WindowGone, match="no longer held"):
        _ = window.closes


def test_an_aggregate_longer_than_the_window_is_refused() -> None:
    window = Window([bar_at(m, Decimal(1), Decimal(1), Decimal(1)) for m in range(3)])
    with pytest.raises(ValueError, match="4 bars ending 0 before the last do not fit a window of 3"):
        window.sma(4)
    with pytest.raises(ValueError, match="3 bars ending 1 before the last"):
        window.highest(3, ago=1)


@settings(max_examples=300, deadline=None)
@given(
    present=st.sets(st.integers(min_value=0, max_value=80), min_size=1),
    first=st.integers(min_value=-5, max_value=85),
    width=st.integers(min_value=0, max_value=40),
    length=st.integers(min_value=1, max_value=20),
)
def test_first_complete_end_is_what_probing_every_candidate_finds(
    present: set[int], first: int, width: int, length: int
) -> None:
    series = BarSeries(MINUTE)
    for minute in sorted(present, key=lambda m: (m * 37) % 83):  # not in time order
        series.add(bar_at(minute, Decimal(1), Decimal(1), Decimal(1)))
    first_ms, last_ms = T0 + first * MINUTE, T0 + (first + width) * MINUTE
    probed = next(
        (t for t in range(first_ms, last_ms + 1, MINUTE) if series.span_ending(t, length) is not None),
        None,
    )
    assert series.first_complete_end(first_ms, last_ms, length) == probed
