"""The sweep heatmap puts every panel on one colour scale, so a drop from in-sample to out-of-sample shows."""

from __future__ import annotations

import numpy as np

from infra.config import StdsConfig, StrategyLine
from infra.research.heatmap import heatmap_figure
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
