"""The bar store's shared windows and the series' shared means (made once for all the strategies deciding on one
bar) answer what a window made afresh answers, whatever bars came in between: late, duplicate, or trimming ones."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.stores.memory import MemoryBarStore
from consumers.strategies.series import BarSeries
from events.streams import StreamKey
from tests.unit.consumers.strategies.test_window_aggregates import MINUTE, bar_at, naive_sma, prices

steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), prices),
        st.tuples(st.just("ask"), st.integers(0, 40), st.integers(1, 12), st.integers(1, 12)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, retention=st.sampled_from([8, 16, 1000]))
def test_shared_windows_and_means_answer_as_fresh_ones(steps: list[tuple[object, ...]], retention: int) -> None:
    store = MemoryBarStore(retention)
    fresh = BarSeries(MINUTE, retention)  # the same bars, never asked through a cache
    stream = None
    for step in steps:
        if step[0] == "add":
            _, minute, close = step
            assert isinstance(minute, int) and isinstance(close, Decimal)
            bar = bar_at(minute, close, close, close)
            stream = StreamKey.of(bar)
            assert store.add(bar) == fresh.add(bar)
            continue
        _, end_minute, length, n = step
        assert isinstance(end_minute, int) and isinstance(length, int) and isinstance(n, int)
        if stream is None:
            continue
        end_ms = bar_at(end_minute, Decimal(1), Decimal(1), Decimal(1)).open_time_ms
        window = store.window(stream, end_ms, length)
        again = store.window(stream, end_ms, length)  # the second strategy asking: the same view
        start = fresh.span_ending(end_ms, length) if fresh.times and end_ms <= fresh.times[-1] else None
        if start is None:
            assert window is None and again is None
            continue
        assert window is not None and again is window
        expected = fresh.bars[start : start + length]
        assert list(window.bars) == expected
        if n <= length:
            assert window.sma(n) == naive_sma(expected[-n:])
            assert window.sma(n) == naive_sma(expected[-n:])  # asked again: the kept mean, still right


def test_means_stay_true_as_the_series_trims_and_grows_back() -> None:
    """Every strategy asks sma(n) of the newest window; after a trim the same positions hold other bars."""
    store = MemoryBarStore(8)
    held = []
    for minute in range(40):
        bar = bar_at(minute, Decimal(minute * minute), Decimal(0), Decimal(0))
        store.add(bar)
        held.append(bar)
        window = store.window(StreamKey.of(bar), bar.open_time_ms, min(5, len(held)))
        assert window is not None
        for n in range(1, len(window) + 1):
            assert window.sma(n) == naive_sma(held[-n:])
