"""What a sweep runs: one strategy line, its parameter sets, the folds, and how sets are judged."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from events.codec import describe_errors
from infra.research.grid import ParamSet, ParamValue, describe
from infra.research.items import SweepItem, SweepLine
from infra.research.windows import Fold
from infra.strategy_loader import strategy_class

METRICS = ("trades", "round_trips", "pnl", "return_pct", "max_drawdown_pct", "sharpe", "fees", "win_rate_pct")
TRIP_METRICS = ("round_trips", "wins", "win_rate_pct")  # from the trade statistics, as the report has them


@dataclass(frozen=True)
class SweepPlan:
    line: SweepLine
    sets: list[ParamSet]
    folds: list[Fold]
    objective: str  # one of sweep_table.OBJECTIVES
    axes: dict[str, list[ParamValue]]  # the grid, as given (for the heatmap's axes)
    # fold number → the sets its own study tried (optuna); None: every set on every fold (a grid)
    fold_sets: dict[int, tuple[int, ...]] | None = None

    @property
    def walk_forward(self) -> bool:
        return self.folds[0].test is not None

    def sets_of(self, fold: Fold) -> list[tuple[int, ParamSet]]:
        """The sets run on a fold, with their place in `sets`."""
        if self.fold_sets is None:
            return list(enumerate(self.sets))
        return [(index, self.sets[index]) for index in self.fold_sets[fold.number]]

    def on_every_fold(self) -> list[int]:
        """The sets run on every fold, the only ones a ranking across folds compares like with like: all of a
        grid's; of optuna's, those every fold's study proposed (the studies share one seed, so their first trials
        are alike: optuna's random start-up, and the whole first round, asked before any trial is told)."""
        if self.fold_sets is None:
            return list(range(len(self.sets)))
        shared = set.intersection(*(set(indices) for indices in self.fold_sets.values()))
        return sorted(shared)

    def items(self) -> list[SweepItem]:
        """Each fold's sets on its train span, then on its test span; an item two folds share, once."""
        items = [SweepItem(index, params, fold.train) for fold in self.folds for index, params in self.sets_of(fold)]
        items += [
            SweepItem(index, params, fold.test)
            for fold in self.folds
            if fold.test is not None
            for index, params in self.sets_of(fold)
        ]
        return list({(item.span, item.set_index): item for item in items}.values())


def usable_sets(line: SweepLine, sets: Sequence[ParamSet]) -> tuple[list[ParamSet], list[str]]:
    """The sets the strategy accepts, and a reason for each one it refuses (e.g. fast not below slow)."""
    reasons = refusals(line, sets)
    kept = [params for params, reason in zip(sets, reasons, strict=True) if reason is None]
    return kept, [reason for reason in reasons if reason is not None]


def refusals(line: SweepLine, sets: Sequence[ParamSet]) -> list[str | None]:
    """For each set, why the strategy refuses it, or None when it accepts it."""
    params_model = strategy_class(line.line.use, line.config_dir).Params
    reasons: list[str | None] = []
    for params in sets:
        try:
            params_model.model_validate({**line.line.params, **params})
        except ValidationError as error:
            reasons.append(f"{describe(params)}: {describe_errors(error)}")
        else:
            reasons.append(None)
    return reasons


def metric(summary: Mapping[str, Any], name: str) -> Any:
    """A figure of an item's summary.json: round trips and win rate from its trade statistics (the ledger's), the
    rest from its headline figures."""
    if name in TRIP_METRICS:
        return summary["trade_statistics"]["total"][name]
    return summary[name]


def score(summary: Mapping[str, Any], objective: str) -> float:
    """Higher is better, whichever objective (a drawdown is negated); -inf when there is nothing to judge."""
    if objective == "sharpe":
        return float(summary["sharpe"])
    if objective == "return":
        return float(summary["return_pct"])
    if objective == "pnl":
        return float(Decimal(summary["pnl"]))
    if objective == "drawdown":
        return -float(summary["max_drawdown_pct"])
    if not metric(summary, "round_trips"):
        return -math.inf  # no round trip: no win rate to judge
    return float(metric(summary, "win_rate_pct"))


def objective_label(objective: str) -> str:
    return {"return": "return %", "drawdown": "max drawdown %", "win_rate": "win rate %"}.get(objective, objective)


def shown_score(value: float, objective: str) -> float:
    """A score as the user reads the figure (a drawdown positive again)."""
    return -value if objective == "drawdown" else value
