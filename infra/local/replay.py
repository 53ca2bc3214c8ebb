"""`stds replay`: recorded bars through the same bus, consumers and stores as live, then a report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from events.dead_letters import DeadLetterFile
from events.models import OrderFilled
from infra.config import StdsConfig
from infra.local.collector import RunCollector
from infra.local.recorder import EventRecorder
from infra.local.runtime import LocalRuntime, retention_for
from infra.local.stores import memory_stores, sqlite_stores
from infra.report import write_report
from infra.strategy_loader import load_strategies
from producers.replay.sources import Gap, open_sources, paced

log = logging.getLogger(__name__)

IN_MEMORY = ":memory:"


@dataclass(frozen=True)
class ReplayOptions:
    paths: list[Path]
    config: StdsConfig
    config_dir: Path
    out: Path
    db: Path | None = None  # None: <out>/state.sqlite; Path(":memory:"): nothing persisted
    resume: bool = False
    speed: float = 0.0  # 0: as fast as possible; N: N× market time
    record: Path | None = None
    exchange: str | None = None
    symbol: str | None = None
    progress: bool = True
    chart: bool = True


def run_replay(options: ReplayOptions) -> dict[str, Any]:
    specs = load_strategies(options.config, options.config_dir)
    options.out.mkdir(parents=True, exist_ok=True)
    paper = options.config.paper
    retention = retention_for(specs)
    db = options.db or options.out / "state.sqlite"
    if str(db) == IN_MEMORY:
        stores = memory_stores(paper.starting_cash, retention)
    else:
        if not options.resume:
            _discard_state(db)
        stores = sqlite_stores(db, paper.starting_cash, retention)
    dead_letters = DeadLetterFile(options.out / "dead-letters.jsonl")
    runtime = LocalRuntime(specs, stores, dead_letters, risk=options.config.risk_policy(), paper=paper)
    collector = RunCollector(runtime.bus)
    recorder = EventRecorder(options.record) if options.record else None
    if recorder is not None:
        runtime.bus.observe(recorder)
    gaps: list[Gap] = []
    try:
        source = open_sources(
            options.paths, dead_letters, exchange=options.exchange, symbol=options.symbol, on_gap=gaps.append
        )
        bars = paced(source, options.speed) if options.speed else source
        with tqdm(
            total=source.total_rows, unit="bar", unit_scale=True, disable=not options.progress, leave=False
        ) as progress:

            def advance(bars_done: int) -> None:
                progress.update(bars_done)

            started = time.perf_counter()
            runtime.feed(bars, on_progress=advance)
            elapsed = time.perf_counter() - started
        earlier = [record.settlement for record in stores.orders() if isinstance(record.settlement, OrderFilled)]
        # a sub-account exists once its strategy has seen a bar of that symbol
        accounts = sorted((a.key.strategy, a.key.exchange, a.key.symbol) for a in stores.book.accounts())
        record = collector.record(
            starting_cash=paper.starting_cash,
            accounts=accounts,
            elapsed_s=elapsed,
            dead_letters=dead_letters.count,
            gaps=len(gaps),
            earlier_fills=earlier,
        )
        summary = write_report(record, options.out, chart=options.chart)
    finally:
        stores.close()
        dead_letters.close()
        if recorder is not None:
            recorder.close()
    log.info(
        "replay finished",
        extra={"bars": record.bars, "seconds": round(elapsed, 3), "out": str(options.out), "gaps": len(gaps)},
    )
    return summary


def _discard_state(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        stale = Path(f"{db}{suffix}")
        if stale.exists():
            stale.unlink()
