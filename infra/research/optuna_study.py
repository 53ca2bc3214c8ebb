"""`--sampler optuna`: each train window gets its own seeded TPE study. A round asks every study for a few trials,
runs them as ordinary sweep items (each exactly `stds replay` of its set) and tells each its in-sample score; when
walking forward, each study's sets then run on its test window. Only the items are stored: a rerun asks again from
the same seed, finds the items already done, and so carries on where it stopped."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from infra.config import ConfigError
from infra.research.grid import ParamSet, ParamValue
from infra.research.items import SweepItem, SweepLine
from infra.research.plan import SweepPlan, refusals, score
from infra.research.windows import Fold

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.study import Study
    from optuna.trial import Trial

Outcomes = Mapping[str, dict[str, Any] | str]  # item key → its summary, or the error it failed with
RunItems = Callable[[list[SweepItem]], Outcomes]  # runs the items not done yet; the outcome of every one given

REFUSED = "refused by the strategy"  # the constraint a trial of a set the strategy refuses violates


@dataclass(frozen=True)
class StudyOptions:
    trials: int  # asked of each study
    seed: int
    round_size: int  # trials asked of a study before any is told: the trials depend on it, never on --workers
    ranges: frozenset[str]  # the axes given as START:STOP:STEP, sampled as numbers; the others are choices


def require_optuna() -> None:
    """Before anything runs: optuna is an optional dependency."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("--sampler optuna needs the optuna package: pip install 'stds[optuna]'") from None


class Space:
    """The grid's axes as optuna's distributions, and a trial's values back as the grid's own exact values."""

    def __init__(self, axes: dict[str, list[ParamValue]], ranges: frozenset[str]) -> None:
        self.axes = axes
        self.distributions = {name: _distribution(values, name in ranges) for name, values in axes.items()}

    def params(self, suggested: Mapping[str, Any]) -> ParamSet:
        return {
            name: _grid_value(values, self.distributions[name], suggested[name]) for name, values in self.axes.items()
        }


@dataclass
class _FoldStudy:
    fold: Fold
    study: Study
    set_indices: list[int] = field(default_factory=list)  # the distinct sets it ran, in the order first asked
    refused: list[str] = field(default_factory=list)  # why, for each trial of a set the strategy refuses


def run_studies(
    options: StudyOptions,
    line: SweepLine,
    folds: Sequence[Fold],
    *,
    objective: str,
    axes: dict[str, list[ParamValue]],
    run_items: RunItems,
    skip: Callable[[int], None],
) -> SweepPlan:
    """Every study to its trials, round by round; then (walking forward) each study's sets on its test window.
    `skip` hears of the trials that needed no item run (a refused set; on a test window, a repeated one)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per trial; the progress bar has them
    space = Space(axes, options.ranges)
    studies = [
        _FoldStudy(fold, optuna.create_study(direction="maximize", sampler=_sampler(options.seed))) for fold in folds
    ]
    sets: list[ParamSet] = []
    place: dict[tuple[tuple[str, ParamValue], ...], int] = {}  # a set → its index in `sets`
    for asked in range(0, options.trials, options.round_size):
        size = min(options.round_size, options.trials - asked)
        trials = [(study, study.study.ask(space.distributions)) for study in studies for _ in range(size)]
        proposed = [space.params(trial.params) for _, trial in trials]
        items: list[SweepItem | None] = []
        for (study, _), params, reason in zip(trials, proposed, refusals(line, proposed), strict=True):
            if reason is not None:
                study.refused.append(reason)
                items.append(None)
                continue
            index = place.setdefault(tuple(params.items()), len(place))
            if index == len(sets):
                sets.append(params)
            if index not in study.set_indices:
                study.set_indices.append(index)
            items.append(SweepItem(index, params, study.fold.train))
        outcomes = run_items([item for item in items if item is not None])
        skip(items.count(None))
        for (study, trial), item in zip(trials, items, strict=True):
            _tell(study.study, trial, None if item is None else outcomes[item.key], objective)
    if not sets:
        (first, *_) = (reason for study in studies for reason in study.refused)
        raise ConfigError(f"no trial proposed a set {line.line.use} accepts, e.g. {first}: check the grid")
    plan = SweepPlan(line, sets, list(folds), objective, axes, {s.fold.number: tuple(s.set_indices) for s in studies})
    if plan.walk_forward:
        run_items(
            [SweepItem(i, sets[i], s.fold.test) for s in studies if s.fold.test is not None for i in s.set_indices]
        )
        skip(sum(options.trials - len(study.set_indices) for study in studies))
    for study in studies:
        print(_tally(study, options.trials, len(folds) > 1))
    return plan


def _sampler(seed: int) -> BaseSampler:
    from optuna.samplers import TPESampler

    # constant liar: a trial asked while others of its round run counts them as bad, so a round spreads out
    return TPESampler(seed=seed, constant_liar=True)


def _tell(study: Study, trial: Trial, outcome: dict[str, Any] | str | None, objective: str) -> None:
    from optuna.trial import TrialState

    if outcome is None:
        # refused: infeasible, so TPE ranks it below every feasible trial and learns to stay away from it
        trial.set_constraint(REFUSED, 1.0)
        study.tell(trial, state=TrialState.PRUNED)
    elif isinstance(outcome, str):
        study.tell(trial, state=TrialState.FAIL)  # the item failed: TPE ignores it, and a rerun retries it
    else:
        study.tell(trial, score(outcome, objective))  # the same score that chooses a fold's set


def _tally(study: _FoldStudy, trials: int, several: bool) -> str:
    which = f" of fold {study.fold.number}" if several else ""
    repeats = trials - len(study.set_indices) - len(study.refused)
    line = f"optuna study{which}: {trials} trials, {len(study.set_indices)} parameter sets run, {repeats} repeated"
    if study.refused:
        line += f", {len(study.refused)} {REFUSED}, e.g. {study.refused[0]}"
    return line


def _distribution(values: list[ParamValue], ranged: bool) -> BaseDistribution:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    numbers = [value for value in values if not isinstance(value, str)]
    if not ranged or len(numbers) < 2 or len(numbers) != len(values):
        return CategoricalDistribution([str(value) if isinstance(value, Decimal) else value for value in values])
    step = numbers[1] - numbers[0]
    if all(isinstance(number, int) for number in numbers):
        return IntDistribution(int(numbers[0]), int(numbers[-1]), step=int(step))
    return FloatDistribution(float(numbers[0]), float(numbers[-1]), step=float(step))


def _grid_value(values: list[ParamValue], distribution: BaseDistribution, suggested: Any) -> ParamValue:
    from optuna.distributions import CategoricalDistribution

    if isinstance(distribution, CategoricalDistribution):
        return values[distribution.choices.index(suggested)]
    # a stepped number: the grid's own value at that step (a float step drifts, the grid's exact decimal does not)
    low, step = float(values[0]), float(values[1]) - float(values[0])
    return values[min(max(round((float(suggested) - low) / step), 0), len(values) - 1)]
