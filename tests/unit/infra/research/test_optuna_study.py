"""The optuna sampler's parts: the grid's axes as optuna's distributions and back to the grid's exact values, and the
ask-run-tell loop (with a hand-written item runner standing in for the replays)."""

from __future__ import annotations

import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from infra.config import StdsConfig, StrategyLine
from infra.research.grid import grid_values
from infra.research.items import SweepItem, SweepLine
from infra.research.optuna_study import Outcomes, Space, StudyOptions, run_studies
from infra.research.windows import Fold, Span

FOLD = Fold(1, Span(0, 60_000 * 1000), None)


def test_a_range_is_a_stepped_number_and_a_list_is_a_choice() -> None:
    axes = {
        "fast": grid_values("5:50:5", "fast"),
        "qty": grid_values("0.1:0.5:0.1", "qty"),
        "slow": grid_values("30,60,120", "slow"),
        "mode": grid_values("long_flat,long_short", "mode"),
        "fee": grid_values("0.5,1.5", "fee"),
    }
    space = Space(axes, frozenset({"fast", "qty"}))
    assert space.distributions == {
        "fast": IntDistribution(5, 50, step=5),
        "qty": FloatDistribution(0.1, 0.5, step=0.1),
        "slow": CategoricalDistribution([30, 60, 120]),
        "mode": CategoricalDistribution(["long_flat", "long_short"]),
        "fee": CategoricalDistribution(["0.5", "1.5"]),  # exact decimals travel as their text
    }
    suggested = {"fast": 15, "qty": 0.30000000000000004, "slow": 60, "mode": "long_short", "fee": "1.5"}
    assert space.params(suggested) == {
        "fast": 15,
        "qty": Decimal("0.3"),
        "slow": 60,
        "mode": "long_short",
        "fee": Decimal("1.5"),
    }


@given(
    start=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3),
    step=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3),
    count=st.integers(min_value=2, max_value=400),
    data=st.data(),
)
def test_any_value_optuna_suggests_on_a_decimal_range_is_the_grids_exact_value(
    start: Decimal, step: Decimal, count: int, data: st.DataObject
) -> None:
    values = grid_values(f"{start}:{start + step * (count - 1)}:{step}", "x")
    space = Space({"x": values}, frozenset({"x"}))
    distribution = space.distributions["x"]
    assert isinstance(distribution, FloatDistribution) and distribution.step is not None
    index = data.draw(st.integers(0, count - 1))
    # what optuna hands back for that step: low + index × step in floats, drift and all
    suggested = distribution.low + index * distribution.step
    assert space.params({"x": suggested}) == {"x": values[index]}
    assert isinstance(values[index], Decimal)


def sweep_line(tmp_path: Path) -> SweepLine:
    line = StrategyLine(use="sma_cross")
    return SweepLine("sma", line, StdsConfig(strategies={"sma": line}), tmp_path)


def summary(sharpe: float) -> dict[str, Any]:
    return {"sharpe": sharpe, "return_pct": 0.0, "pnl": "0", "max_drawdown_pct": 0.0}


def test_the_loop_tells_each_trial_its_score_and_keeps_each_set_once(tmp_path: Path) -> None:
    """A score peaked at fast=20, slow=60: TPE's rounds come closer to it than the random first ones."""
    ran: list[list[SweepItem]] = []

    def run_items(items: list[SweepItem]) -> Outcomes:
        ran.append(items)
        return {item.key: summary(-abs(int(item.params["fast"]) - 20) - abs(int(item.params["slow"]) - 60) / 10)
                for item in items}  # fmt: skip

    skipped: list[int] = []
    axes = {"fast": grid_values("2:60", "fast"), "slow": grid_values("10:200:10", "slow")}
    options = StudyOptions(trials=60, seed=3, round_size=10, ranges=frozenset(axes))
    plan = run_studies(
        options, sweep_line(tmp_path), [FOLD], objective="sharpe", axes=axes, run_items=run_items, skip=skipped.append
    )
    assert [len(items) + refused for items, refused in zip(ran, skipped, strict=True)] == [10] * 6
    assert plan.fold_sets is not None and plan.fold_sets[1] == tuple(range(len(plan.sets)))
    assert len({tuple(params.items()) for params in plan.sets}) == len(plan.sets)  # a repeated set is one set
    assert all(int(params["fast"]) < int(params["slow"]) for params in plan.sets)  # refused sets are never run

    def distance(items: list[SweepItem]) -> float:
        """The median set's distance from the peak (told 0.0 for every trial, TPE stays at ~15-23 here)."""
        return statistics.median(abs(int(i.params["fast"]) - 20) + abs(int(i.params["slow"]) - 60) / 10 for i in items)

    random_rounds, tpe_rounds = ran[0] + ran[1], ran[3] + ran[4] + ran[5]  # TPE starts after 10 finished trials
    assert distance(tpe_rounds) < 0.5 * distance(random_rounds)
