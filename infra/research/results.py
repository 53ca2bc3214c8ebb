"""A finished sweep's results: one row per parameter set and fold, in-sample beside out-of-sample, the set each
fold chose on its train span, results.csv, best.toml and the printed tables."""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.report.money import money, places_for
from infra.report.trades import iso_utc
from infra.research.grid import ParamSet, describe
from infra.research.items import SweepItem
from infra.research.plan import METRICS, SweepPlan, metric, objective_label, score, shown_score
from infra.research.windows import Fold, Span

Found = dict[str, dict[str, Any] | str]  # item key → its summary, or the error it failed with


@dataclass(frozen=True)
class Row:
    set_index: int
    params: ParamSet
    fold: Fold
    in_sample: dict[str, Any] | str | None  # summary, error, or None: not run
    out_of_sample: dict[str, Any] | str | None
    chosen: bool  # the set this fold picked on its train span

    def score(self, objective: str, *, out_of_sample: bool) -> float:
        summary = self.out_of_sample if out_of_sample else self.in_sample
        return score(summary, objective) if isinstance(summary, dict) else -math.inf


def rows_of(plan: SweepPlan, found: Found) -> list[Row]:
    rows: list[Row] = []
    for fold in plan.folds:
        fold_rows = [
            Row(
                index,
                params,
                fold,
                found.get(SweepItem(index, params, fold.train).key),
                found.get(SweepItem(index, params, fold.test).key) if fold.test is not None else None,
                chosen=False,
            )
            for index, params in plan.sets_of(fold)
        ]
        best = _best(fold_rows, plan.objective, out_of_sample=False)
        rows += [Row(r.set_index, r.params, r.fold, r.in_sample, r.out_of_sample, chosen=r is best) for r in fold_rows]
    return rows


def chosen_rows(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.chosen]


def _best(rows: list[Row], objective: str, *, out_of_sample: bool) -> Row | None:
    """The highest score; the first in grid order among equals. None if every one failed."""
    best, best_score = None, -math.inf
    for row in rows:
        value = row.score(objective, out_of_sample=out_of_sample)
        if value > best_score:
            best, best_score = row, value
    return best


@dataclass(frozen=True)
class SetStanding:
    """A parameter set over every fold: its mean score in sample and (walk-forward) out of sample."""

    set_index: int
    params: ParamSet
    in_sample: float
    out_of_sample: float | None
    folds: int


def standings(plan: SweepPlan, rows: list[Row]) -> list[SetStanding]:
    """Every set that ran and finished on every fold, best first: by mean out-of-sample score when there is a
    test span, else by its in-sample one. A set some fold did not run (an optuna study proposes its own) is left
    out: its mean over the folds it happened to run on would let one lucky window beat a set good on all of them."""
    everywhere = set(plan.on_every_fold())
    by_set: dict[int, list[Row]] = {}
    for row in rows:
        if row.set_index in everywhere:
            by_set.setdefault(row.set_index, []).append(row)
    table = []
    for index, set_rows in by_set.items():
        inside = [row.score(plan.objective, out_of_sample=False) for row in set_rows]
        outside = [row.score(plan.objective, out_of_sample=True) for row in set_rows] if plan.walk_forward else []
        if any(math.isinf(value) for value in inside + outside):
            continue  # failed somewhere (or nothing to judge): not ranked
        mean_out = statistics.fmean(outside) if outside else None
        table.append(SetStanding(index, plan.sets[index], statistics.fmean(inside), mean_out, len(set_rows)))
    key = (lambda s: (s.out_of_sample, s.in_sample)) if plan.walk_forward else (lambda s: (s.in_sample, 0.0))
    return sorted(table, key=key, reverse=True)


def write_results_csv(plan: SweepPlan, rows: list[Row], path: Path) -> None:
    names = list(plan.sets[0]) if plan.sets else []
    sides = [("is_", False), ("oos_", True)] if plan.walk_forward else [("", False)]
    header = ["fold", "train_from", "train_to"]
    if plan.walk_forward:
        header += ["test_from", "test_to", "chosen"]
    header += names + [prefix + metric for prefix, _ in sides for metric in METRICS] + ["error"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            line: list[Any] = [row.fold.number, *_span_text(row.fold.train)]
            if row.fold.test is not None:
                line += [*_span_text(row.fold.test), "yes" if row.chosen else ""]
            line += [row.params[name] for name in names]
            errors = []
            for _, out_of_sample in sides:
                summary = row.out_of_sample if out_of_sample else row.in_sample
                line += [metric(summary, name) for name in METRICS] if isinstance(summary, dict) else [""] * 8
                if isinstance(summary, str):
                    errors.append(summary)
            writer.writerow([*line, "; ".join(errors)])


def _span_text(span: Span) -> tuple[str, str]:
    return iso_utc(span.start_ms), iso_utc(span.end_ms)


def best_toml(plan: SweepPlan, rows: list[Row], best: SetStanding) -> str:
    """A strategies file with the best set's line, under the line's own name, and how it was judged; walking
    forward, also the walk-forward's own pick: the latest fold's choice on its train window."""
    label = objective_label(plan.objective)
    if best.out_of_sample is not None:
        judged = (
            f"# best out of sample by {label}: mean {_score_text(plan, best.out_of_sample)} over "
            f"{best.folds} test window{'s' if best.folds > 1 else ''} "
            f"(in sample {_score_text(plan, best.in_sample)}), among {_ranked(plan)}\n"
        )
        # the latest fold chose one: the best set, for one, has a score on every train window
        latest = next(row for row in chosen_rows(rows) if row.fold == plan.folds[-1])
        judged += (
            f"# the walk-forward's own pick to trade next, fold {latest.fold.number}'s choice on the latest train "
            f"window: {describe(latest.params)}\n# (each fold's choice judged on its test window, stitched: "
            "oos-equity.csv)\n"
        )
    else:
        judged = (
            f"# best by {label} ({_score_text(plan, best.in_sample)}) on all the bars: in sample "
            "only; nothing was held out (--walk-forward tests it out of sample)\n"
        )
    line = plan.line.with_params(best.params)
    fields = [f"use = {_toml(line.use)}"]
    if line.symbols is not None:
        fields.append(f"symbols = {_toml(line.symbols)}")
    if line.timeframe != "1m":
        fields.append(f"timeframe = {_toml(line.timeframe)}")
    params = ", ".join(f"{name} = {_toml(value)}" for name, value in line.params.items())
    fields.append(f"params = {{ {params} }}")
    return f"{judged}[strategies]\n{plan.line.name} = {{ {', '.join(fields)} }}\n"


def no_best(plan: SweepPlan) -> str:
    where = " on every fold" if len(plan.folds) > 1 else ""
    return (
        f"best.toml: not written: no parameter set ran and has a {objective_label(plan.objective)}{where} "
        "(see results.csv)"
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    text = str(value)  # a Decimal as an exact string (the configuration reads it back exactly)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def print_tables(plan: SweepPlan, rows: list[Row], table: list[SetStanding], *, top: int = 10) -> None:
    label = objective_label(plan.objective)
    if plan.walk_forward:
        print(f"\nwalk-forward, chosen on each train window by {label}:")
        print(f"  {'fold':>4}  {'train':<35}  {'test':<35}  {'chosen':<24}  {'in sample':>10}  {'out of sample':>13}")
        for row in chosen_rows(rows):
            assert row.fold.test is not None
            print(
                f"  {row.fold.number:>4}  {_span(row.fold.train):<35}  {_span(row.fold.test):<35}  "
                f"{describe(row.params):<24}  {_figure(plan, row.in_sample):>10}  "
                f"{_figure(plan, row.out_of_sample):>13}"
            )
    print(
        f"\ntop {min(top, len(table))} of {_ranked(plan)} by {label}"
        + (" out of sample (mean over the test windows), in sample beside it:" if plan.walk_forward else ":")
    )
    header = f"  {'rank':>4}  {'parameters':<28}  {'in sample':>10}"
    if plan.walk_forward:
        header += f"  {'out of sample':>13}"
    print(header + f"  {'trades':>7}  {'round trips':>11}  {'win %':>6}  {'return %':>9}  {'max dd %':>8}")
    for rank, standing in enumerate(table[:top], start=1):
        totals = _totals([r for r in rows if r.set_index == standing.set_index], plan.walk_forward)
        line = f"  {rank:>4}  {describe(standing.params):<28}  {_score_text(plan, standing.in_sample):>10}"
        if standing.out_of_sample is not None:
            line += f"  {_score_text(plan, standing.out_of_sample):>13}"
        print(line + totals)


def _ranked(plan: SweepPlan) -> str:
    """The sets a ranking compares: every one, or (optuna walking forward) those every fold's study ran."""
    ranked = len(plan.on_every_fold())
    if ranked == len(plan.sets):
        return f"{ranked} parameter set{'s' if ranked > 1 else ''}"
    return f"the {ranked} parameter sets every fold's study ran ({len(plan.sets)} tried)"


def _totals(set_rows: list[Row], out_of_sample: bool) -> str:
    """Trades, round trips, win rate, return and worst drawdown of a set, over the windows it is judged on."""
    summaries = [r.out_of_sample if out_of_sample else r.in_sample for r in set_rows]
    usable = [s for s in summaries if isinstance(s, dict)]
    trades = sum(s["trades"] for s in usable)
    trips = sum(metric(s, "round_trips") for s in usable)
    wins = sum(metric(s, "wins") for s in usable)
    win = f"{wins / trips * 100:.1f}" if trips else "-"
    growth = math.prod(1 + s["return_pct"] / 100 for s in usable)  # test windows compounded, as the stitched curve
    worst = max((s["max_drawdown_pct"] for s in usable), default=0.0)
    return f"  {trades:>7}  {trips:>11}  {win:>6}  {(growth - 1) * 100:>9.3f}  {worst:>8.3f}"


def _figure(plan: SweepPlan, summary: dict[str, Any] | str | None) -> str:
    if not isinstance(summary, dict):
        return "failed"
    return _score_text(plan, score(summary, plan.objective))


def _score_text(plan: SweepPlan, value: float) -> str:
    """A score as printed: money in its quote's places when the objective is pnl, else a ratio to 4 places."""
    if plan.objective == "pnl":
        return money(value, places_for(plan.line.line.symbols or ()))
    return f"{shown_score(value, plan.objective):.4f}"


def _span(span: Span) -> str:
    return f"{iso_utc(span.start_ms)[:16]} → {iso_utc(span.end_ms)[:16]}"
