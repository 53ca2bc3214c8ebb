"""What `stds cost --sweep` is priced from: a sweep Lambda child's work, measured in CPU seconds on this machine.

A child reads its bars from Parquet (the format the sweep uploads) and runs a batch of sma_cross items over them
with `run_batch`'s own `run_items`. Printed: the read per bar, the CPU time per item and per strategy-bar, and
the cost and wall time `stds cost --sweep` derives for 1,000 sets × one year of 1m bars.

    python -m tests.performance.bench_sweep_lambda [--bars N] [--items N]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from events.dead_letters import DeadLetterList
from infra.config import StdsConfig, StrategyLine
from infra.cost.sweep import sweep_estimate, sweep_prices
from infra.research.items import SweepItem, SweepLine, run_items
from infra.research.remote import parquet_of
from infra.research.windows import Span
from infra.research.workers import Bars
from producers.replay.sources import open_sources
from tests.performance.bench_sweep import BTCUSDT

YEAR_OF_1M_BARS = 525_600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, help="only the first N bars (default all 94,640)")
    parser.add_argument("--items", type=int, default=20, help="sma_cross sets in the batch")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the two BTCUSDT files are a year apart: one known gap

    bars = list(open_sources([BTCUSDT], DeadLetterList()))[: args.bars]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "binance-BTCUSDT-1m.parquet"
        path.write_bytes(parquet_of("binance", "BTC/USDT", "1m", bars))
        started = time.process_time()
        read = Bars.of(list(open_sources([path], DeadLetterList())))
        read_s = time.process_time() - started
    assert read.bars == bars

    line = StrategyLine(use="sma_cross", params={"qty": "0.5"})
    config = StdsConfig(strategies={"sma_cross": line})
    sweep_line = SweepLine("sma_cross", line, config, Path("."))
    span = Span(bars[0].open_time_ms, bars[-1].open_time_ms + bars[-1].interval_ms)
    sets = [{"fast": 5 + 5 * (n % 19), "slow": 100 + 50 * (n // 19)} for n in range(args.items)]
    items = [SweepItem(index, params, span) for index, params in enumerate(sets)]
    started = time.process_time()
    outcomes = run_items(read.bars, sweep_line, items)
    run_s = time.process_time() - started
    assert all(outcome.error is None for outcome in outcomes)

    per_item = run_s / len(items)
    print(f"read {len(bars):,} bars from Parquet: {read_s:.2f} CPU s ({read_s / len(bars) * 1e6:.1f} µs a bar)")
    print(
        f"{len(items)} items × {len(bars):,} bars: {run_s:.2f} CPU s, {per_item:.3f} s an item, "
        f"{len(items) * len(bars) / run_s:,.0f} strategy-bars per CPU second"
    )
    estimate = sweep_estimate(1000, YEAR_OF_1M_BARS, sweep_prices("us-east-1"))
    print(
        f"stds cost --sweep 1000x{YEAR_OF_1M_BARS}: {estimate.children} children of {estimate.items_per_child} items, "
        f"wall ~{estimate.wall_s:.0f} s, ${estimate.usd.quantize(Decimal('0.001'))}"
    )


if __name__ == "__main__":
    main()
