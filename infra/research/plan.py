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

    @property
    def walk_forward(self) -> bool:
        return self.folds[0].test is not None

    def items(self) -> list[SweepItem]:
        """Every set on every fold's train span, then on every test span (each span once)."""
        spans = [fold.train for fold in self.folds] + [fold.test for fold in self.folds if fold.test is not None]
        unique = list(dict.fromkeys(spans))
        return [SweepItem(index, params, span) for span in unique for index, params in enumerate(self.sets)]


def usable_sets(line: SweepLine, sets: Sequence[ParamSet]) -> tuple[list[ParamSet], list[str]]:
    """The sets the strategy accepts, and a reason for each one it refuses (e.g. fast not below slow)."""
    params_model = strategy_class(line.line.use, line.config_dir).Params
    kept, refused = [], []
    for params in sets:
        try:
            params_model.model_validate({**line.line.params, **params})
        except ValidationError as error:
            refused.append(f"{describe(params)}: {describe_errors(error)}")
        else:
            kept.append(params)
    return kept, refused


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
