"""The span arithmetic that decides what `stds download` asks for: what is missing plus what is covered is exactly
what is wanted, and months and days are cut where UTC says."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from producers.download.spans import DAY_MS, merged, missing, month_label, months, whole_days

spans = st.tuples(st.integers(0, 200), st.integers(0, 200))


def minutes(span_list: list[tuple[int, int]]) -> set[int]:
    return {minute for start, end in span_list for minute in range(start, end)}


@given(wanted=spans, covered=st.lists(spans, max_size=6))
def test_what_is_missing_and_what_is_covered_make_up_what_is_wanted(
    wanted: tuple[int, int], covered: list[tuple[int, int]]
) -> None:
    gaps = missing(wanted, covered)
    assert minutes(gaps) == minutes([wanted]) - minutes(covered)
    assert gaps == merged(gaps)  # in order, apart, none empty


@given(covered=st.lists(spans, max_size=8))
def test_merged_spans_hold_the_same_time_in_order_and_apart(covered: list[tuple[int, int]]) -> None:
    together = merged(covered)
    assert minutes(together) == minutes(covered)
    assert all(start < end for start, end in together)
    assert all(earlier[1] < later[0] for earlier, later in pairwise(together))


def test_months_and_days_are_cut_at_utc_midnight() -> None:
    jan_31_noon, mar_2 = 1_706_702_400_000, 1_709_337_600_000  # 2024-01-31 12:00, 2024-03-02 00:00
    assert [month_label(start) for start, _ in months((jan_31_noon, mar_2))] == ["2024-01", "2024-02", "2024-03"]
    assert [end - start for start, end in months((jan_31_noon, mar_2))] == [DAY_MS // 2, 29 * DAY_MS, DAY_MS]
    assert whole_days((jan_31_noon, mar_2)) == [
        (day, day + DAY_MS) for day in range(jan_31_noon + DAY_MS // 2, mar_2, DAY_MS)
    ]
