"""`stds sweep`, once its options are read: the bars, the plan, the items not done yet on every core, then the
results folder (results.csv, best.toml, heatmap.png, and for a walk-forward the stitched out-of-sample equity)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.dead_letters import DeadLetterFile
from infra.research.grid import ParamSet, describe
from infra.research.heatmap import heatmap_axes, write_heatmap
from infra.research.items import ItemOutcome, SweepItem, SweepLine
from infra.research.on_aws import AwsTarget, run_on_aws
from infra.research.plan import SweepPlan
from infra.research.results import Found, best_toml, chosen_rows, print_tables, rows_of, standings, write_results_csv
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
    sets: list[ParamSet]  # the sets the strategy accepts
    axes: dict[str, list[Any]]
    objective: str
    lay_folds: Callable[[int, int], list[Fold]]  # (first bar's open time, end of the last bar) → folds
    out: Path
    workers: int
    batch: int
    fresh: bool = False
    progress: bool = True
    aws: AwsTarget | None = None  # run the pending items on the research stack instead of local workers


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
    dead_letters = DeadLetterFile(out / "dead-letters.jsonl", append=False)
    gaps: list[Gap] = []
    try:
        source = open_sources(paths, dead_letters, on_gap=gaps.append)
        bars = Bars.of(list(source))
    finally:
        dead_letters.close()
    if not bars.bars:
        raise ValueError(f"no usable bars in {', '.join(map(str, paths))} (see {out / 'dead-letters.jsonl'})")
    return Reading(bars, source.files, dead_letters.count, len(gaps))


def run_sweep(run: SweepRun) -> SweepReport:
    run.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reading = read_bars(run.paths, run.out)
    bars = reading.bars
    read_s = time.perf_counter() - started
    last = bars.bars[-1]
    plan = SweepPlan(
        run.line,
        run.sets,
        run.lay_folds(bars.times_ms[0], last.open_time_ms + last.interval_ms),
        run.objective,
        run.axes,
    )
    _refuse_empty_windows(plan, bars)
    store = SweepStore(run.out, _basis(run.line, reading.files), fresh=run.fresh)
    items = plan.items()
    found: Found = {}
    for item in items:
        summary = store.done(item.key)
        if summary is not None:
            found[item.key] = summary
    pending = [item for item in items if item.key not in found]
    span_bars = {item.span: bars.count_within(item.span) for item in items}
    print(
        f"sweep: {len(plan.sets)} parameter sets × {len({i.span for i in items})} windows = {len(items)} items"
        f" ({len(items) - len(pending)} done earlier), {len(bars.bars):,} bars read in {read_s:.1f} s,"
        f" {min(run.workers, max(len(pending), 1))} worker(s)",
        flush=True,
    )
    failed: list[tuple[SweepItem, str]] = []
    by_key = {item.key: item for item in pending}
    strategy_bars = 0
    started = time.perf_counter()
    with _progress(len(pending), shown=run.progress) as advance:

        def on_done(outcomes: list[ItemOutcome]) -> None:
            nonlocal strategy_bars
            for outcome in outcomes:
                item = by_key[outcome.key]
                if outcome.summary is not None:  # what reading the files met, as a replay of them reports it
                    outcome.summary["dead_letters"] += reading.dead_letters
                    outcome.summary["gaps"] = reading.gaps
                store.keep(outcome)
                strategy_bars += span_bars[item.span]
                if outcome.error is not None:
                    failed.append((item, outcome.error))
                    found[outcome.key] = outcome.error
                else:
                    assert outcome.summary is not None
                    found[outcome.key] = outcome.summary
            advance(len(outcomes), strategy_bars / max(time.perf_counter() - started, 1e-9))

        if run.aws is None:
            run_all(bars, run.line, pending, workers=run.workers, batch=run.batch, on_done=on_done)
        else:
            run_on_aws(run.aws, bars, run.line, pending, on_done=on_done)
    seconds = time.perf_counter() - started
    _write_results(plan, found, bars, run.out)
    for item, error in sorted(failed, key=lambda pair: pair[0].set_index):
        print(f"failed: {describe(item.params)} on {_days(item)}: {error}", file=sys.stderr)
    return SweepReport(len(items), len(items) - len(pending), failed, seconds, strategy_bars)


def _write_results(plan: SweepPlan, found: Found, bars: Bars, out: Path) -> None:
    rows = rows_of(plan, found)
    write_results_csv(plan, rows, out / "results.csv")
    table = standings(plan, rows)
    print_tables(plan, rows, table)
    written = [out / "results.csv"]
    if table:
        (out / "best.toml").write_text(best_toml(plan, table[0]))
        written.append(out / "best.toml")
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


def _refuse_empty_windows(plan: SweepPlan, bars: Bars) -> None:
    from infra.report.trades import iso_utc

    for fold in plan.folds:
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
