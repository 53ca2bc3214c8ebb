"""Running a sweep's items on every core: the bars are read once and handed to each worker as it starts (inherited
on fork, never re-read per item); each task is a batch of items of one span, run as one replay."""

from __future__ import annotations

import bisect
import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from events.models import BarClosed
from infra.local.gc_settings import collecting_rarely
from infra.research.items import ItemOutcome, SweepItem, SweepLine, run_items
from infra.research.windows import Span


@dataclass(frozen=True)
class Bars:
    """The sweep's bars in time order, sliced per span by open time."""

    bars: list[BarClosed]
    times_ms: list[int]

    @classmethod
    def of(cls, bars: list[BarClosed]) -> Bars:
        return cls(bars, [bar.open_time_ms for bar in bars])

    def within(self, span: Span) -> list[BarClosed]:
        first = bisect.bisect_left(self.times_ms, span.start_ms)
        return self.bars[first : bisect.bisect_left(self.times_ms, span.end_ms, first)]

    def count_within(self, span: Span) -> int:
        return bisect.bisect_left(self.times_ms, span.end_ms) - bisect.bisect_left(self.times_ms, span.start_ms)


def default_workers() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def batches(items: Sequence[SweepItem], *, workers: int, batch: int) -> list[list[SweepItem]]:
    """Items grouped by span, each span's items dealt into batches of at most `batch`, as many batches as a multiple
    of `workers` and of even sizes, so that the workers finish together (95 items on 2 workers with batches of
    up to 32: 24, 24, 24 and 23, not 32, 32 and 31). Dealt, not cut: neighbouring sets cost alike (a grid's
    shortest fast SMAs trade most), so each batch takes every `count`-th item, a share of each kind."""
    by_span: dict[Span, list[SweepItem]] = {}
    for item in items:
        by_span.setdefault(item.span, []).append(item)
    cut: list[list[SweepItem]] = []
    for span_items in by_span.values():
        count = min(len(span_items), workers * math.ceil(len(span_items) / (workers * batch)))
        cut += [span_items[index::count] for index in range(count)]
    return cut


def run_all(
    bars: Bars,
    line: SweepLine,
    items: Sequence[SweepItem],
    *,
    workers: int,
    batch: int,
    on_done: Callable[[list[ItemOutcome]], None],
) -> None:
    """Every item, `on_done` hearing each batch's outcomes as it finishes (in the calling process)."""
    work = batches(items, workers=workers, batch=batch)
    if workers <= 1 or len(work) <= 1:
        for chunk in work:
            on_done(_run_batch_of(bars, line, chunk))
        return
    for outcomes in _in_parallel(bars, line, work, workers):
        on_done(outcomes)


def _in_parallel(bars: Bars, line: SweepLine, work: list[list[SweepItem]], workers: int) -> Iterator[list[ItemOutcome]]:
    # fork hands each worker the parent's bars as they are in memory; elsewhere they are pickled once per worker
    method = "fork" if sys.platform == "linux" else "spawn"
    context = multiprocessing.get_context(method)
    # frozen before forking: a collection in a worker would write into every inherited object it walks, copying the
    # pages of the bars that fork shares
    with (
        collecting_rarely(),
        ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(bars, line)) as pool,
    ):
        queued = list(reversed(work))
        running: set[Future[list[ItemOutcome]]] = set()
        while queued or running:
            while queued and len(running) < workers * 2:  # a few ahead, so a cancelled run leaves little queued
                running.add(pool.submit(_run_batch, queued.pop()))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


_worker_bars: Bars | None = None
_worker_line: SweepLine | None = None


def _start(bars: Bars, line: SweepLine) -> None:
    global _worker_bars, _worker_line
    _worker_bars, _worker_line = bars, line


def _run_batch(chunk: list[SweepItem]) -> list[ItemOutcome]:
    assert _worker_bars is not None and _worker_line is not None
    return _run_batch_of(_worker_bars, _worker_line, chunk)


def _run_batch_of(bars: Bars, line: SweepLine, chunk: list[SweepItem]) -> list[ItemOutcome]:
    """A batch's outcomes with their trades.csv written, in the process that ran them (a worker: in parallel)."""
    return [outcome.with_trades_written() for outcome in run_items(bars.within(chunk[0].span), line, chunk)]
