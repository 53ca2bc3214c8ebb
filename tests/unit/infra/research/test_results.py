"""Which set best.toml names: ranked over every fold, so that when optuna's studies tried different sets on
different folds, a set lucky on the one window it ran on cannot beat a set good on all of them."""

from __future__ import annotations

import statistics
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from infra.config import StdsConfig, StrategyLine
from infra.research.grid import ParamSet
from infra.research.items import SweepItem, SweepLine
from infra.research.plan import SweepPlan
from infra.research.results import Found, best_toml, rows_of, standings
from infra.research.windows import Fold, Span
from tests.conftest import REPO_ROOT

DAY_MS = 86_400_000


def _fold(number: int) -> Fold:
    """Train two days, test the day after; folds ten days apart, so that no item of one is an item of another."""
    start = 10 * number * DAY_MS
    return Fold(number, Span(start, start + 2 * DAY_MS), Span(start + 2 * DAY_MS, start + 3 * DAY_MS))


FOLDS = [_fold(number) for number in (1, 2, 3)]
SETS: list[ParamSet] = [{"fast": fast, "slow": 60} for fast in (5, 10, 15, 20, 25)]
LUCKY, STEADY, MEDIOCRE, EARLY, LATE = range(5)
# (in sample, out of sample) sharpe of each set on each fold its study ran: the first two every study proposed
SCORES = {
    STEADY: {1: (2.0, 1.0), 2: (2.0, 1.2), 3: (2.0, 0.8)},  # good on every test window: mean 1.0
    MEDIOCRE: {1: (1.0, 0.5), 2: (1.0, 0.4), 3: (1.0, 0.6)},
    EARLY: {1: (3.0, -2.0)},
    LUCKY: {2: (3.0, 9.0)},  # fold 2's own find, lucky on its one test window
    LATE: {3: (3.0, 0.1)},
}
STUDIES = {fold.number: tuple(i for i, by_fold in SCORES.items() if fold.number in by_fold) for fold in FOLDS}


def _line() -> SweepLine:
    line = StrategyLine(use="sma_cross", params={"qty": "0.5"})
    return SweepLine("sma", line, StdsConfig(strategies={"sma": line}), REPO_ROOT)


def _found(scores: dict[int, dict[int, tuple[float, float]]]) -> Found:
    found: Found = {}
    for index, by_fold in scores.items():
        for fold in FOLDS:
            if fold.number in by_fold:
                assert fold.test is not None
                in_sample, out_of_sample = by_fold[fold.number]
                found[SweepItem(index, SETS[index], fold.train).key] = {"sharpe": in_sample}
                found[SweepItem(index, SETS[index], fold.test).key] = {"sharpe": out_of_sample}
    return found


def test_optuna_walking_forward_ranks_only_the_sets_every_folds_study_ran() -> None:
    plan = SweepPlan(_line(), SETS, FOLDS, "sharpe", {"fast": [5, 10, 15, 20, 25], "slow": [60]}, STUDIES)
    rows = rows_of(plan, _found(SCORES))
    table = standings(plan, rows)
    assert [(s.set_index, s.out_of_sample, s.folds) for s in table] == [(STEADY, 1.0, 3), (MEDIOCRE, 0.5, 3)]
    assert [row.set_index for row in rows if row.chosen] == [EARLY, LUCKY, LATE]  # each fold's train winner
    text = best_toml(plan, rows, table[0])
    assert text.splitlines()[:3] == [
        "# best out of sample by sharpe: mean 1.0000 over 3 test windows (in sample 2.0000), among the 2 parameter "
        "sets every fold's study ran (5 tried)",
        "# the walk-forward's own pick to trade next, fold 3's choice on the latest train window: fast=25 slow=60",
        "# (each fold's choice judged on its test window, stitched: oos-equity.csv)",
    ]
    assert tomllib.loads(text) == {
        "strategies": {"sma": {"use": "sma_cross", "params": {"qty": "0.5", "fast": 10, "slow": 60}}}
    }


def test_a_grid_walking_forward_ranks_every_set_by_its_mean_out_of_sample() -> None:
    """Every set ran on every fold: the lucky one is ranked too, by its mean over all three test windows."""
    grid = {
        index: {fold.number: by_fold.get(fold.number, (3.0, -6.0)) for fold in FOLDS}
        for index, by_fold in SCORES.items()
    }
    plan = SweepPlan(_line(), SETS, FOLDS, "sharpe", {"fast": [5, 10, 15, 20, 25], "slow": [60]})
    rows = rows_of(plan, _found(grid))
    table = standings(plan, rows)
    assert [(s.set_index, round(s.out_of_sample or 0, 9)) for s in table] == [
        (STEADY, 1.0),
        (MEDIOCRE, 0.5),
        (LUCKY, -1.0),
        (LATE, -3.966666667),
        (EARLY, -4.666666667),
    ]
    assert "(in sample 2.0000), among 5 parameter sets\n# the walk-forward's own pick" in best_toml(
        plan, rows, table[0]
    )


@given(
    ran=st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=4),
    scores=st.lists(st.integers(-5, 5), min_size=48, max_size=48),
)
def test_every_ranked_set_ran_on_every_fold_and_is_ranked_by_its_mean_there(
    ran: list[list[bool]], scores: list[int]
) -> None:
    folds = [_fold(number) for number in range(1, len(ran) + 1)]
    sets: list[ParamSet] = [{"fast": fast} for fast in range(6)]
    fold_sets = {fold.number: tuple(i for i in range(6) if ran[fold.number - 1][i]) for fold in folds}
    plan = SweepPlan(_line(), sets, folds, "sharpe", {"fast": list(range(6))}, fold_sets)
    found: Found = {}
    for fold in folds:
        for index in fold_sets[fold.number]:
            assert fold.test is not None
            at = (fold.number - 1) * 12 + index * 2
            found[SweepItem(index, sets[index], fold.train).key] = {"sharpe": float(scores[at])}
            found[SweepItem(index, sets[index], fold.test).key] = {"sharpe": float(scores[at + 1])}
    table = standings(plan, rows_of(plan, found))
    everywhere = [i for i in range(6) if all(ran[fold.number - 1][i] for fold in folds)]
    assert sorted(s.set_index for s in table) == everywhere
    for standing in table:
        tests = [scores[(fold.number - 1) * 12 + standing.set_index * 2 + 1] for fold in folds]
        assert standing.out_of_sample == statistics.fmean(tests) and standing.folds == len(folds)
    assert [s.out_of_sample for s in table] == sorted((s.out_of_sample for s in table), reverse=True)
