"""A sweep item is `stds replay` of one parameter set on one span of bars.

Items of one span run together, as the strategies of one replay: the bars are published once to the one bus, and
the bar store (the window, its running sums) is shared, while each item trades its own sub-account. Each item's
report is then made by the replay's own report code from that item's part of the run, under the strategy line's
name, so it is byte for byte the report of a replay of that parameter set alone (a test holds every item to it).
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import build_portfolio
from events.dead_letters import DeadLetterList
from events.models import BarClosed, OrderFilled, OrderRejected, new_order_id
from events.trusted import trusted_model
from infra.config import StdsConfig, StrategyLine
from infra.local.collector import RunCollector
from infra.local.gc_settings import collecting_rarely
from infra.local.runtime import LocalRuntime
from infra.local.stores import memory_stores
from infra.report.finished_run import FinishedRun
from infra.report.summary import summarize
from infra.report.trades import trades_csv
from infra.research.grid import ParamSet
from infra.research.windows import Span
from infra.strategy_loader import load_strategies, retention_for

Settlement = TypeVar("Settlement", OrderFilled, OrderRejected)

# what differs between two runs of the same replay (how long it took), left out of an item's summary
TIMING = ("bars_per_second", "elapsed_s")
RENAMED_FIELDS = frozenset({"strategy", "order_id"})  # what `_renamed` sets on each of an item's fills


@dataclass(frozen=True, slots=True)
class SweepItem:
    set_index: int  # the parameter set's place in the sweep
    params: ParamSet  # what the grid varies, over the strategy line's own parameters
    span: Span

    @property
    def key(self) -> str:
        """Stable across runs and machines: what a resumed sweep finds done."""
        text = orjson.dumps(
            {"params": {k: str(v) for k, v in self.params.items()}, "span": [self.span.start_ms, self.span.end_ms]},
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(text).hexdigest()[:20]


@dataclass(frozen=True)
class ItemOutcome:
    key: str
    summary: dict[str, Any] | None  # the replay's summary.json, timing aside; None when the item failed
    fills: list[OrderFilled]  # trades.csv's rows
    error: str | None = None
    equity: tuple[list[int], list[Any]] | None = None  # (bar times, equity), when asked for
    trades_csv: bytes | None = None  # trades.csv as a worker or a sweep Lambda wrote it (then `fills` is empty)

    def with_trades_written(self) -> ItemOutcome:
        """`fills` as trades.csv's bytes: what a batch of a local sweep hands back. A worker process writes them in
        parallel, rather than the parent, and bytes pickle in 1% of the time the fills took (95 items: 1.4 s, and
        0.9 s to unpickle)."""
        return replace(self, fills=[], trades_csv=trades_csv(self.fills))


@dataclass(frozen=True)
class SweepLine:
    """The strategy line every item runs, and the configuration around it (paper broker, risk)."""

    name: str  # the line's name, as a replay of it would name the strategy
    line: StrategyLine
    config: StdsConfig
    config_dir: Path

    def with_params(self, params: ParamSet) -> StrategyLine:
        return self.line.model_copy(update={"params": {**self.line.params, **params}})


def run_items(
    bars: Sequence[BarClosed], line: SweepLine, items: Sequence[SweepItem], *, keep_equity: bool = False
) -> list[ItemOutcome]:
    """Run items of one span together; if that fails, each alone, so one failing item fails by itself."""
    try:
        with collecting_rarely():
            return _run_together(bars, line, items, keep_equity)
    except Exception as error:
        if len(items) == 1:
            return [_failed(items[0], error)]
    return [outcome for item in items for outcome in run_items(bars, line, [item], keep_equity=keep_equity)]


def _failed(item: SweepItem, error: Exception) -> ItemOutcome:
    where = traceback.extract_tb(error.__traceback__)[-1]
    text = f"{type(error).__name__}: {error} (at {Path(where.filename).name}:{where.lineno})"
    return ItemOutcome(item.key, None, [], error=text)


def _run_together(
    bars: Sequence[BarClosed], line: SweepLine, items: Sequence[SweepItem], keep_equity: bool
) -> list[ItemOutcome]:
    names = {f"item-{index}": item for index, item in enumerate(items)}
    config = line.config.model_copy(
        update={"strategies": {name: line.with_params(item.params) for name, item in names.items()}}
    )
    specs = load_strategies(config, line.config_dir)
    stores = memory_stores(config.paper.starting_cash, retention_for(specs))
    dead_letters = DeadLetterList()
    # as LocalSession.start builds a replay's runtime and report collector (a sweep records no events)
    runtime = LocalRuntime(specs, stores, dead_letters, risk=config.risk_policy(), paper=config.paper)
    collector = RunCollector(runtime.bus)
    runtime.feed(bars)
    accounts = sorted((a.key.strategy, a.key.exchange, a.key.symbol) for a in stores.book.accounts())
    run = collector.finish(
        starting_cash=config.paper.starting_cash, accounts=accounts, elapsed_s=0.0, dead_letters=0, gaps=0
    )
    by_strategy = _by_strategy(run)
    timeline = Timeline.of(run.closes)  # every item's report marks the same bars
    return [
        _outcome(
            item, _item_run(run, by_strategy.get(name, ([], [])), name, line.name, dead_letters), timeline, keep_equity
        )
        for name, item in names.items()
    ]


def _by_strategy(run: FinishedRun) -> dict[str, tuple[list[OrderFilled], list[OrderRejected]]]:
    """Each strategy's fills and rejects, in the run's order: sorted out once, not once per item."""
    grouped: dict[str, tuple[list[OrderFilled], list[OrderRejected]]] = {}
    for fill in run.fills:
        grouped.setdefault(fill.strategy, ([], []))[0].append(fill)
    for reject in run.rejects:
        grouped.setdefault(reject.strategy, ([], []))[1].append(reject)
    return grouped


def _item_run(
    run: FinishedRun,
    settled: tuple[list[OrderFilled], list[OrderRejected]],
    name: str,
    shown_as: str,
    dead_letters: DeadLetterList,
) -> FinishedRun:
    """The part of a run that one item's strategy did (`settled`: its fills and rejects), as a replay of it alone
    would have named it."""
    fills = [_renamed(fill, shown_as) for fill in settled[0]]
    rejects = [_renamed(reject, shown_as) for reject in settled[1]]
    origin = f"strategy {name} at "
    return FinishedRun(
        starting_cash=run.starting_cash,
        accounts=[(shown_as, exchange, symbol) for strategy, exchange, symbol in run.accounts if strategy == name],
        closes=run.closes,
        fills=fills,
        rejects=rejects,
        bars=run.bars,
        elapsed_s=0.0,
        dead_letters=sum(1 for letter in dead_letters if letter.origin.startswith(origin)),
        gaps=0,
        timeframe=run.timeframe,
    )


def _renamed(event: Settlement, strategy: str) -> Settlement:
    """As the strategy line would have settled it: its name, and the order id a replay of it gives the order."""
    order_id = new_order_id(strategy, event.exchange, event.symbol, event.bar_open_time_ms)
    # what `model_copy(update=...)` makes (its fields in their places, the two named as set), without its deep
    # copy of the fields set: one per fill of every item, that copy was most of a sweep's renaming
    renamed = {**event.__dict__, "strategy": strategy, "order_id": order_id}
    return trusted_model(type(event), renamed, event.model_fields_set | RENAMED_FIELDS)


def _outcome(item: SweepItem, run: FinishedRun, timeline: Timeline, keep_equity: bool) -> ItemOutcome:
    # as write_report makes a replay's summary.json: the same ledger, its round trips and trade statistics
    portfolio = build_portfolio(run.starting_cash_by_account(), timeline, run.fills)
    summary = {key: value for key, value in summarize(run, portfolio).items() if key not in TIMING}
    equity = (portfolio.curve.times_ms, portfolio.curve.equity) if keep_equity else None
    return ItemOutcome(item.key, summary, run.fills, equity=equity)
