"""`stds sweep`, once its options are read: the bars, the plan, the items not done yet on every core, then the
results folder (results.csv, best.toml, heatmap.png, and for a walk-forward the stitched out-of-sample equity)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.dead_letters import DEAD_LETTERS_FILE, DeadLetterFile
from infra.research.grid import ParamSet, describe
from infra.research.heatmap import heatmap_axes, write_heatmap
from infra.research.items import ItemOutcome, SweepItem, SweepLine
from infra.research.on_aws import AwsTarget, run_on_aws
from infra.research.optuna_study import StudyOptions, run_studies
from infra.research.plan import SweepPlan
from infra.research.results import (
    Found,
    best_toml,
    chosen_rows,
    no_best,
    print_tables,
    rows_of,
    standings,
    write_results_csv,
)
from infra.research.stitched import stitched_equity, write_stitched_csv, write_stitched_png
from infra.research.store import SweepStore
from infra.research.windows import Fold, WindowError
from infra.research.workers import Bars, run_all
from producers.replay.sources import Gap, open_sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepRun:
    paths: list[Path]
    line: SweepLine
    sets: list[ParamSet]  # the grid's sets the strategy accepts
    axes: dict[str, list[Any]]
    objective: str
    lay_folds: Callable[[int, int], list[Fold]]  # (first bar's open time, end of the last bar) → folds
    out: Path
    workers: int
    batch: int
    fresh: bool = False
    progress: bool = True
    aws: AwsTarget | None = None  # run the pending items on the research stack instead of local workers
    study: StudyOptions | None = None  # optuna proposes the sets, a study per train window (`sets` is empty)


@dataclass(frozen=True)
class SweepReport:
    items: int
    done_before: int
    failed: list[tuple[SweepItem, str]]
    seconds: float
    strategy_bars: int  # bars × items run in this run, the throughput's numerator


@dataclass(frozen=True)
class Reading:
    bars: Bars
    files: set[Path]
    dead_letters: int  # rows refused, as a replay of these files counts them
    gaps: int


def read_bars(paths: list[Path], out: Path) -> Reading:
    dead_letters = DeadLetterFile(out / DEAD_LETTERS_FILE, append=False)
    gaps: list[Gap] = []
    try:
        source = open_sources(paths, dead_letters, on_gap=gaps.append)
        bars = Bars.of(list(source))
    finally:
        dead_letters.close()
    if not bars.bars:
        raise ValueError(f"no usable bars in {', '.join(map(str, paths))} (see {out / DEAD_LETTERS_FILE})")
    return Reading(bars, source.files, dead_letters.count, len(gaps))


def run_sweep(run: SweepRun) -> SweepReport:
    run.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reading = read_bars(run.paths, run.out)
    bars = reading.bars
    read_s = time.perf_counter() - started
    last = bars.bars[-1]
    folds = run.lay_folds(bars.times_ms[0], last.open_time_ms + last.interval_ms)
    _refuse_empty_windows(folds, bars)
    store = SweepStore(run.out, _basis(run.line, reading.files), fresh=run.fresh)
    runner = _Runner(run, reading, store)
    read = f"{len(bars.bars):,} bars read in {read_s:.1f} s"
    if run.study is None:
        plan = SweepPlan(run.line, run.sets, folds, run.objective, run.axes)
        items = plan.items()
        pending = runner.not_done(items)
        print(
            f"sweep: {len(plan.sets)} parameter sets × {len({item.span for item in items})} windows ="
            f" {len(items)} items ({len(items) - len(pending)} done earlier), {read},"
            f" {min(run.workers, max(len(pending), 1))} worker(s)",
            flush=True,
        )
        with _progress(len(pending), shown=run.progress) as runner.advance:
            runner.run(pending)
    else:
        study, sides = run.study, 1 + (folds[0].test is not None)
        print(
            f"sweep: optuna TPE (seed {study.seed}), {study.trials} trials"
            f"{f' in each of {len(folds)} studies, one per train window' if len(folds) > 1 else ''}, asked"
            f" {study.round_size} at a time{', then on the test windows' if sides > 1 else ''}, {read},"
            f" {run.workers} worker(s)",
            flush=True,
        )
        with _progress(study.trials * len(folds) * sides, shown=run.progress) as runner.advance:
            plan = run_studies(
                study, run.line, folds, objective=run.objective, axes=run.axes, run_items=runner.run, skip=runner.skip
            )
    _write_results(plan, runner.found, bars, run.out)
    for item, error in sorted(runner.failed, key=lambda pair: pair[0].set_index):
        print(f"failed: {describe(item.params)} on {_days(item)}: {error}", file=sys.stderr)
    return SweepReport(len(plan.items()), runner.done_before, runner.failed, runner.seconds, runner.strategy_bars)


class _Runner:
    """Runs the items not done yet, here or on AWS, keeping each in the store the moment it finishes."""

    def __init__(self, run: SweepRun, reading: Reading, store: SweepStore) -> None:
        self.sweep, self.reading, self.store = run, reading, store
        self.found: Found = {}
        self.failed: list[tuple[SweepItem, str]] = []
        self.done_before = 0  # items found in the store
        self.strategy_bars = 0  # bars × items run, the throughput's numerator
        self.seconds = 0.0  # running them
        self.advance: Callable[[int, float], None] = lambda done, rate: None

    def not_done(self, items: Sequence[SweepItem]) -> list[SweepItem]:
        """The items neither run in this run nor found in the store (those are read into `found`)."""
        pending: dict[str, SweepItem] = {}
        for item in items:
            if item.key in self.found or item.key in pending:
                continue
            summary = self.store.done(item.key)
            if summary is None:
                pending[item.key] = item
            else:
                self.found[item.key] = summary
                self.done_before += 1
        return list(pending.values())

    def run(self, items: Sequence[SweepItem]) -> Found:
        """Every item's outcome, running the ones not done; the progress bar moves by every item given."""
        pending = self.not_done(items)
        self.skip(len(items) - len(pending))
        by_key = {item.key: item for item in pending}
        span_bars = {span: self.reading.bars.count_within(span) for span in {item.span for item in pending}}
        started = time.perf_counter()

        def on_done(outcomes: list[ItemOutcome]) -> None:
            for outcome in outcomes:
                item = by_key[outcome.key]
                if outcome.summary is not None:  # what reading the files met, as a replay of them reports it
                    outcome.summary["dead_letters"] += self.reading.dead_letters
                    outcome.summary["gaps"] = self.reading.gaps
                self.store.keep(outcome)
                self.strategy_bars += span_bars[item.span]
                if outcome.error is not None:
                    self.failed.append((item, outcome.error))
                    self.found[outcome.key] = outcome.error
                else:
                    assert outcome.summary is not None
                    self.found[outcome.key] = outcome.summary
            self.advance(len(outcomes), self.strategy_bars / max(self.seconds + time.perf_counter() - started, 1e-9))

        run, bars = self.sweep, self.reading.bars
        if run.aws is None:
            run_all(bars, run.line, pending, workers=run.workers, batch=run.batch, on_done=on_done)
        else:
            run_on_aws(run.aws, bars, run.line, pending, on_done=on_done)
        self.seconds += time.perf_counter() - started
        return {item.key: self.found[item.key] for item in items}

    def skip(self, count: int) -> None:
        """Moves the progress bar over work that needed no item run."""
        if count:
            self.advance(count, self.strategy_bars / max(self.seconds, 1e-9))


def _write_results(plan: SweepPlan, found: Found, bars: Bars, out: Path) -> None:
    rows = rows_of(plan, found)
    write_results_csv(plan, rows, out / "results.csv")
    table = standings(plan, rows)
    print_tables(plan, rows, table)
    written = [out / "results.csv"]
    if table:
        (out / "best.toml").write_text(best_toml(plan, rows, table[0]))
        written.append(out / "best.toml")
    else:  # none from an earlier run of this folder either: it would not be this sweep's answer
        (out / "best.toml").unlink(missing_ok=True)
        print(no_best(plan))
    if heatmap_axes(plan) is not None:
        write_heatmap(plan, rows, out / "heatmap.png")
        written.append(out / "heatmap.png")
    else:
        print("heatmap: drawn when at least two parameters vary")
    if plan.walk_forward:
        points = stitched_equity(bars, plan.line, chosen_rows(rows))
        if points:
            write_stitched_csv(points, out / "oos-equity.csv")
            first, end = points[0].stitched, points[-1].stitched
            change = (end / first - 1) * 100 if first else 0
            title = f"{plan.line.name}: stitched out-of-sample equity, {len(plan.folds)} folds ({change:+.3f}%)"
            write_stitched_png(points, out / "oos-equity.png", title)
            written += [out / "oos-equity.csv", out / "oos-equity.png"]
            print(f"\nstitched out of sample: {first:,.2f} → {end:,.2f} ({change:+.3f}%)")
    print("\nwritten: " + ", ".join(str(path) for path in written))


def _refuse_empty_windows(folds: list[Fold], bars: Bars) -> None:
    from infra.report.trades import iso_utc

    for fold in folds:
        for side, span in (("train", fold.train), ("test", fold.test)):
            if span is not None and not bars.count_within(span):
                first, last = iso_utc(bars.times_ms[0])[:16], iso_utc(bars.times_ms[-1])[:16]
                raise WindowError(
                    f"fold {fold.number}: the {side} range {iso_utc(span.start_ms)[:16]} → {iso_utc(span.end_ms)[:16]} "
                    f"holds no bars (they run from {first} to {last}): give ranges within them"
                )


def _basis(line: SweepLine, files: set[Path]) -> dict[str, Any]:
    """What every item's result depends on besides its parameters and span."""
    return {
        "bars": sorted([str(path), path.stat().st_size, path.stat().st_mtime_ns] for path in files),
        "strategy": line.name,
        "line": line.line.model_dump(mode="json"),
        "paper": line.config.paper.model_dump(mode="json"),
        "risk": line.config.risk.model_dump(mode="json"),
    }


def _days(item: SweepItem) -> str:
    from infra.report.trades import iso_utc

    return f"{iso_utc(item.span.start_ms)[:16]} → {iso_utc(item.span.end_ms)[:16]}"


@contextmanager
def _progress(total: int, *, shown: bool) -> Iterator[Callable[[int, float], None]]:
    """A progress bar of items (items/s and the time left), with strategy-bars/s beside it."""
    if not shown or not total:
        yield lambda done, rate: None
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked, and a fork copies no threads safely
    with tqdm(total=total, unit="item", leave=False, smoothing=0.1) as bar:

        def advance(done: int, strategy_bars_per_s: float) -> None:
            bar.set_postfix_str(f"{strategy_bars_per_s:,.0f} strategy-bars/s", refresh=False)
            bar.update(done)

        yield advance
