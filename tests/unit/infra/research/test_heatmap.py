"""The sweep heatmap puts every panel on one colour scale, so a drop from in-sample to out-of-sample shows, and keeps
the tick labels of a wide optuna or random-search axis few enough to read."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from infra.config import StdsConfig, StrategyLine
from infra.research.heatmap import MAX_TICKS, heatmap_figure, tick_places
from infra.research.items import SweepLine
from infra.research.plan import SweepPlan
from infra.research.results import Row
from infra.research.windows import Fold, Span
from tests.conftest import REPO_ROOT

FAST, SLOW = [5, 10, 15], [20, 40]
DAY_MS = 86_400_000


def _plan() -> SweepPlan:
    line = StrategyLine(use="sma_cross")
    folds = [
        Fold(1, Span(0, DAY_MS), Span(DAY_MS, 2 * DAY_MS)),
        Fold(2, Span(DAY_MS, 2 * DAY_MS), Span(2 * DAY_MS, 3 * DAY_MS)),
    ]
    sets = [{"fast": fast, "slow": slow} for fast in FAST for slow in SLOW]
    config = StdsConfig(strategies={"sma": line})
    return SweepPlan(SweepLine("sma", line, config, REPO_ROOT), sets, folds, "pnl", {"fast": FAST, "slow": SLOW})


def _rows(plan: SweepPlan) -> list[Row]:
    """In sample 100 to 600 by set; out of sample exactly 1,000 less, cell for cell: alike in shape, far worse."""
    return [
        Row(index, params, fold, {"pnl": str(100 * (index + 1))}, {"pnl": str(100 * (index + 1) - 1_000)}, index == 5)
        for fold in plan.folds
        for index, params in enumerate(plan.sets)
    ]


def test_every_panel_shares_one_colour_scale_from_the_worst_to_the_best_cell() -> None:
    figure = heatmap_figure(_plan(), _rows(_plan()))
    images = [image for panel in figure.axes for image in panel.get_images()]
    assert len(images) == 4  # two folds, in and out of sample
    assert {image.get_clim() for image in images} == {(-900.0, 600.0)}

    in_sample, out_of_sample = (image.to_rgba(image.get_array()) for image in images[:2])
    assert not np.array_equal(in_sample, out_of_sample)  # a scale per panel would paint these two alike
    worst_in, best_out = images[0].norm(100.0), images[1].norm(-400.0)
    assert best_out < worst_in  # the best out-of-sample cell is redder than the worst in-sample one
    figure.clf()


def _labels(ticks: list[Any]) -> list[str]:
    return [tick.get_text() for tick in ticks]


def test_a_wide_optuna_axis_shows_at_most_twelve_evenly_spread_labels_from_its_first_value_to_its_last() -> None:
    fast, slow = list(range(2, 101)), list(range(20, 601, 5))  # --grid fast=2:100 --grid slow=20:600:5
    tried = [{"fast": 2 + (7 * n) % 99, "slow": 20 + 5 * ((11 * n) % 117)} for n in range(30)]
    line = _plan().line
    plan = SweepPlan(line, tried, [Fold(1, Span(0, DAY_MS), None)], "pnl", {"fast": fast, "slow": slow})
    rows = [Row(index, params, plan.folds[0], {"pnl": str(index)}, None, False) for index, params in enumerate(tried)]
    figure = heatmap_figure(plan, rows)
    panel = figure.axes[0]
    assert _labels(panel.get_yticklabels()) == ["2", "11", "20", "29", "38", "47", "55", "64", "73", "82", "91", "100"]
    assert _labels(panel.get_xticklabels()) == [
        "20", "75", "125", "180", "230", "285", "335", "390", "440", "495", "545", "600",
    ]  # fmt: skip
    assert {tick.get_rotation() for tick in panel.get_xticklabels()} == {0.0}  # a dozen labels fit upright
    figure.clf()


def test_a_grids_few_values_each_keep_their_label() -> None:
    figure = heatmap_figure(_plan(), _rows(_plan()))
    for panel in figure.axes[:4]:
        assert _labels(panel.get_yticklabels()) == ["5", "10", "15"]
        assert _labels(panel.get_xticklabels()) == ["20", "40"]
    figure.clf()


@given(st.integers(min_value=1, max_value=2_000))
def test_tick_places_are_at_most_twelve_evenly_spread_with_the_first_and_the_last(count: int) -> None:
    places = tick_places(count)
    assert len(places) == min(count, MAX_TICKS) == min(count, 12)
    assert places[0] == 0 and places[-1] == count - 1
    gaps = [after - before for before, after in itertools.pairwise(places)]
    assert all(gap > 0 for gap in gaps) and max(gaps, default=0) - min(gaps, default=0) <= 1
