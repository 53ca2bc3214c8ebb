"""Walk-forward window arithmetic, checked on hand-worked cases and for its invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.research.windows import (
    Fold,
    Span,
    WalkForward,
    WindowError,
    explicit_folds,
    parse_walk_forward,
    rolling_folds,
)

DAY = 86_400_000
HOUR = 3_600_000


def test_the_option_reads_train_test_and_step() -> None:
    assert parse_walk_forward("train=30d,test=7d") == WalkForward(30 * DAY, 7 * DAY, 7 * DAY)
    assert parse_walk_forward("train=2w, test=12h, step=90m") == WalkForward(14 * DAY, 12 * HOUR, 90 * 60_000)


@pytest.mark.parametrize(
    "text",
    ["train=30d", "test=7d", "train=30d,test=7x", "train=0d,test=1d", "train=1d,test=1d,train=2d", "span=1d,test=1d"],
)
def test_a_bad_option_shows_the_syntax(text: str) -> None:
    with pytest.raises(WindowError, match="train=DURATION,test=DURATION"):
        parse_walk_forward(text)


def test_seven_day_train_two_day_test_on_ten_days_of_bars() -> None:
    # bars from day 0 00:00 to the end of day 9: folds at day 0, 2 (a fold starting at day 4 would test to day 13)
    folds = rolling_folds(parse_walk_forward("train=7d,test=2d"), 0, 10 * DAY)
    assert folds == [
        Fold(1, Span(0, 7 * DAY), Span(7 * DAY, 9 * DAY)),
    ]
    folds = rolling_folds(parse_walk_forward("train=7d,test=1d"), 0, 10 * DAY)
    assert [(f.train.start_ms // DAY, f.train.end_ms // DAY, f.test.end_ms // DAY) for f in folds if f.test] == [
        (0, 7, 8),
        (1, 8, 9),
        (2, 9, 10),
    ]


def test_a_longer_step_skips_ahead_and_a_shorter_one_overlaps_train() -> None:
    folds = rolling_folds(WalkForward(2 * DAY, DAY, 3 * DAY), 5 * HOUR, 5 * HOUR + 10 * DAY)
    assert [f.train.start_ms for f in folds] == [5 * HOUR, 5 * HOUR + 3 * DAY, 5 * HOUR + 6 * DAY]
    assert folds[-1].test == Span(5 * HOUR + 8 * DAY, 5 * HOUR + 9 * DAY)


def test_too_few_bars_for_one_fold_says_how_many_days_there_are() -> None:
    with pytest.raises(WindowError, match=r"the bars span 5\.0 days, shorter than one train \+ test window \(9\.0"):
        rolling_folds(parse_walk_forward("train=7d,test=2d"), 0, 5 * DAY)


@given(
    st.integers(1, 20 * 24),
    st.integers(1, 5 * 24),
    st.integers(1, 5 * 24),
    st.integers(0, 10**6),
    st.integers(1, 60 * 24),
)
def test_every_fold_tests_right_after_it_trains_and_fits_the_bars(
    train_h: int, test_h: int, step_h: int, first_h: int, length_h: int
) -> None:
    spec = WalkForward(train_h * HOUR, test_h * HOUR, step_h * HOUR)
    first, end = first_h * HOUR, (first_h + length_h) * HOUR
    try:
        folds = rolling_folds(spec, first, end)
    except WindowError:
        assert train_h + test_h > length_h
        return
    for number, fold in enumerate(folds, start=1):
        assert fold.test is not None
        assert fold.number == number
        assert fold.train.end_ms == fold.test.start_ms  # nothing of the test was seen in training
        assert fold.train.end_ms - fold.train.start_ms == spec.train_ms
        assert fold.test.end_ms - fold.test.start_ms == spec.test_ms
        assert first <= fold.train.start_ms and fold.test.end_ms <= end
        assert fold.train.start_ms == first + (number - 1) * spec.step_ms
    # no further fold would have fitted
    assert folds[-1].train.start_ms + spec.step_ms + spec.train_ms + spec.test_ms > end


def test_explicit_ranges_pair_in_order_and_never_leak() -> None:
    folds = explicit_folds([Span(0, 10), Span(20, 30)], [Span(10, 15), Span(35, 40)])
    assert folds == [Fold(1, Span(0, 10), Span(10, 15)), Fold(2, Span(20, 30), Span(35, 40))]
    with pytest.raises(WindowError, match="give them in pairs"):
        explicit_folds([Span(0, 10)], [])
    with pytest.raises(WindowError, match="fold 1: the test range starts before its train range ends"):
        explicit_folds([Span(0, 10)], [Span(9, 15)])


def test_an_empty_span_is_refused() -> None:
    with pytest.raises(WindowError, match="must end after it starts"):
        Span(10, 10)
