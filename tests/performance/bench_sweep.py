"""`make bench`, sweeps: a 95-set sma_cross grid on the shared BTC/USDT 1m bars, on one worker and on every core.

Each item is `stds replay` of its set; a worker runs its batch of items as one replay (the bars read once, the bus
and bar store shared). Figures are strategy-bars/s (items × bars over wall time), with CPU time beside them, and
the per-item start-up (building the strategy, its sub-account, and its report from the run) timed apart.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import time
from pathlib import Path

from events.dead_letters import DeadLetterList
from infra.config import StdsConfig, StrategyLine
from infra.research.grid import expand
from infra.research.items import SweepItem, SweepLine, run_items
from infra.research.windows import Span
from infra.research.workers import Bars, default_workers, run_all
from producers.replay.sources import open_sources

REPO = Path(__file__).resolve().parents[2]
BTCUSDT = REPO.parent / "shared" / "data" / "binance/spot/ccxt_ohlcv/1m/BTCUSDT"
# 19 fast × 5 slow = 95 sets, every one valid (fast < slow)
GRID = {"fast": list(range(5, 96, 5)), "slow": list(range(100, 301, 50))}
GRID_FIRST = {"fast": 5, "slow": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, help="only the first N bars (default all 94,640)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="the N of 'N workers'")
    parser.add_argument(
        "--rounds", type=int, default=3, help="1 worker then N workers, this many times in turn: medians are quoted"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the two BTCUSDT files are a year apart: one known gap

    bars = Bars.of(list(open_sources([BTCUSDT], DeadLetterList()))[: args.bars])
    line = StrategyLine(use="sma_cross")
    sweep_line = SweepLine("sma_cross", line, StdsConfig(strategies={"sma_cross": line}), REPO)
    last = bars.bars[-1]
    span = Span(bars.times_ms[0], last.open_time_ms + last.interval_ms)
    items = [SweepItem(index, params, span) for index, params in enumerate(expand(GRID))]
    load = os.getloadavg()
    print(
        f"sweep: {len(items)} sma_cross sets × {len(bars.bars):,} BTC/USDT 1m bars "
        f"(load average {load[0]:.1f} on {os.cpu_count()} cores before starting)"
    )

    started = time.perf_counter()
    run_items(bars.bars[:1], sweep_line, items)
    start_up_ms = (time.perf_counter() - started) / len(items) * 1e3
    print(f"per-item start-up (its strategy, sub-account and report, on one bar): {start_up_ms:.2f} ms")
    one_bar = Span(span.start_ms, span.start_ms + last.interval_ms)
    started = time.perf_counter()
    run_all(bars, sweep_line, [SweepItem(0, GRID_FIRST, one_bar)] * args.workers, workers=args.workers, batch=1,
            on_done=lambda outcomes: None)  # fmt: skip
    workers_ms = (time.perf_counter() - started) * 1e3
    print(
        f"{args.workers} workers started (forked with the bars) and each ran one item of one bar: {workers_ms:.0f} ms"
    )

    strategy_bars = len(items) * len(bars.bars)
    ones, manys = [], []
    for round_number in range(1, args.rounds + 1):  # in turn, so a drift in the machine's speed moves both alike
        ones.append(_timed(bars, sweep_line, items, workers=1))
        manys.append(_timed(bars, sweep_line, items, workers=args.workers))
        _show(f"round {round_number}: 1 worker", ones[-1], strategy_bars)
        _show(f"round {round_number}: {args.workers} workers", manys[-1], strategy_bars)
    one, many = _median(ones), _median(manys)
    print(f"median of {args.rounds} rounds:")
    _show("1 worker", one, strategy_bars)
    _show(f"{args.workers} workers", many, strategy_bars)
    print(
        f"{args.workers} workers ÷ ({args.workers} × 1 worker): {one[0] / many[0] / args.workers:.2f} of the medians, "
        f"{min(o[0] / m[0] for o, m in zip(ones, manys, strict=True)) / args.workers:.2f}–"
        f"{max(o[0] / m[0] for o, m in zip(ones, manys, strict=True)) / args.workers:.2f} round by round "
        f"(load average {os.getloadavg()[0]:.1f} at the end; other processes share these cores)"
    )


def _median(timings: list[tuple[float, float]]) -> tuple[float, float]:
    """The (wall, CPU) of the median wall time."""
    return sorted(timings)[len(timings) // 2]


def _timed(bars: Bars, line: SweepLine, items: list[SweepItem], *, workers: int) -> tuple[float, float]:
    """(wall s, CPU s of this process and its workers) of every item, batched as `stds sweep` batches them."""
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    batch = math.ceil(len(items) / workers)  # one batch a worker: each worker reads the bars once, runs its items
    run_all(bars, line, items, workers=workers, batch=batch, on_done=lambda outcomes: None)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime - b.ru_utime + a.ru_stime - b.ru_stime for a, b in zip(after, before, strict=True))
    return wall, cpu


def _show(label: str, timing: tuple[float, float], strategy_bars: int) -> None:
    wall, cpu = timing
    print(
        f"{label:<22} {strategy_bars / wall:>10,.0f} strategy-bars/s  ({wall:.1f} s wall, {cpu:.1f} s CPU: "
        f"{strategy_bars / cpu:,.0f} per CPU second)"
    )


if __name__ == "__main__":
    main()
