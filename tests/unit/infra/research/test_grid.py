"""Grid axes as typed on the command line or in a [sweep] table, their expansion, and seeded random search."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.research.grid import GridError, expand, grid_values, parse_grid_option, sample


def test_a_range_includes_its_stop_and_stays_integer() -> None:
    assert parse_grid_option("fast=5:50:5") == ("fast", [5, 10, 15, 20, 25, 30, 35, 40, 45, 50])
    assert parse_grid_option("slow = 3:6") == ("slow", [3, 4, 5, 6])


def test_a_decimal_range_is_exact() -> None:
    assert grid_values("0.1:0.3:0.1", "t") == [Decimal("0.1"), Decimal("0.2"), Decimal("0.3")]


def test_lists_take_numbers_and_words() -> None:
    assert parse_grid_option("slow=30,60,120") == ("slow", [30, 60, 120])
    assert grid_values("long_flat,long_short", "t") == ["long_flat", "long_short"]
    assert grid_values([30, 0.5, "x"], "t") == [30, Decimal("0.5"), "x"]
    assert grid_values(7, "t") == [7]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fast", "expected NAME=START:STOP:STEP"),
        ("fast=", "expected NAME=START:STOP:STEP"),
        ("fast=5:1", "START <= STOP"),
        ("fast=1:5:0", "positive STEP"),
        ("fast=a:5", "'a' is not a number"),
        ("fast=1:2:3:4", "expected NAME=START:STOP:STEP"),
        ("fast=5,5", "listed twice"),
        ("fast=1:1000000", "values in one axis"),
    ],
)
def test_a_bad_axis_names_the_option_and_the_syntax(text: str, says: str) -> None:
    with pytest.raises(GridError, match=says) as raised:
        parse_grid_option(text)
    assert f"--grid {text!r}" in str(raised.value)


def test_expansion_varies_the_last_axis_fastest() -> None:
    assert expand({"fast": [5, 10], "slow": [30, 60]}) == [
        {"fast": 5, "slow": 30},
        {"fast": 5, "slow": 60},
        {"fast": 10, "slow": 30},
        {"fast": 10, "slow": 60},
    ]


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_expansion_has_every_combination_once(sizes: list[int]) -> None:
    axes = {f"p{index}": list(range(size)) for index, size in enumerate(sizes)}
    sets = expand(axes)
    expected = 1
    for size in sizes:
        expected *= size
    assert len(sets) == expected
    assert len({tuple(s.values()) for s in sets}) == expected


@given(st.integers(1, 60), st.integers(1, 80), st.integers(0, 2**32))
def test_a_sample_is_distinct_in_grid_order_and_repeatable(size: int, count: int, seed: int) -> None:
    sets = [{"n": n} for n in range(size)]
    drawn = sample(sets, count, seed)
    assert len(drawn) == min(size, count)
    values = [s["n"] for s in drawn]
    assert values == sorted(set(values))
    assert sample(sets, count, seed) == drawn


def test_different_seeds_draw_different_sets() -> None:
    sets = [{"n": n} for n in range(100)]
    assert sample(sets, 10, 1) != sample(sets, 10, 2)


def test_a_sample_of_nothing_is_refused() -> None:
    with pytest.raises(GridError, match="--samples 0"):
        sample([{"n": 1}], 0, 0)
