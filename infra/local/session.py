"""What `stds replay` and `stds run` share: the runtime on its bus with the report's collector and an optional
recording, the report written from what the run did, and everything closed however the run ends."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from consumers.execution.broker import Broker
from consumers.stores.ports import Stores
from events.dead_letters import DeadLetterFile
from events.models import OrderFilled
from events.timeframes import timeframe_ms
from infra.local.collector import RunCollector
from infra.local.recorder import EventRecorder
from infra.local.run_parts import RunOutput, Trading
from infra.local.runtime import LocalRuntime
from infra.report import write_report


@dataclass(frozen=True)
class LocalSession:
    """A local run's runtime, and what its report is made of. Open it with `start` inside an `ExitStack` that
    also holds the run's stores and dead letters: the stores are committed and closed, the recording and the
    dead letters flushed, whether the run finishes, is stopped or fails."""

    trading: Trading
    stores: Stores
    dead_letters: DeadLetterFile
    output: RunOutput
    runtime: LocalRuntime
    collector: RunCollector

    @classmethod
    def start(
        cls,
        closing: ExitStack,
        trading: Trading,
        stores: Stores,
        dead_letters: DeadLetterFile,
        output: RunOutput,
        *,
        record_from_scratch: bool = False,
        broker: Broker | None = None,
        earlier_closes: dict[tuple[str, str], list[tuple[int, Decimal]]] | None = None,
    ) -> LocalSession:
        config = trading.config
        runtime = LocalRuntime(
            trading.specs, stores, dead_letters, risk=config.risk_policy(), paper=config.paper, broker=broker
        )
        collector = RunCollector(runtime.bus, earlier_closes)
        if output.record is not None:
            recorder = EventRecorder(output.record, append=not record_from_scratch)
            closing.callback(recorder.close)
            runtime.bus.observe(recorder)
        return cls(trading, stores, dead_letters, output, runtime, collector)

    def report(self, *, elapsed_s: float, gaps: int) -> dict[str, Any]:
        """trades.csv, equity.csv, summary.json (and chart.png) in the output folder; the summary is returned.
        Fills an earlier (resumed) run already settled count too: a sub-account's report covers its whole life."""
        stores = self.stores
        earlier = [record.settlement for record in stores.book.orders() if isinstance(record.settlement, OrderFilled)]
        # a sub-account exists once its strategy has seen a bar of that symbol
        accounts = sorted((a.key.strategy, a.key.exchange, a.key.symbol) for a in stores.book.accounts())
        run = self.collector.finish(
            starting_cash=self.trading.config.paper.starting_cash,
            accounts=accounts,
            elapsed_s=elapsed_s,
            dead_letters=self.dead_letters.count,
            gaps=gaps,
            earlier_fills=earlier,
            warnings=self.idle_warnings(),
        )
        return write_report(run, self.output.folder, chart=self.output.chart)

    def idle_warnings(self) -> list[str]:
        """One line per strategy that no bar reached, naming it, what it subscribes to and what the run had."""
        runtime, collector = self.runtime, self.collector
        symbols = ", ".join(sorted({symbol for _, symbol in collector.closes})) or "none"
        had = f"{symbols} ({', '.join(sorted(collector.timeframes, key=timeframe_ms))})"
        return [
            f"strategy {name} received no bar: its pattern selects {orjson.dumps(runtime.pattern_of(name)).decode()}, "
            f'and the bars of this run were {had}; give it their timeframe (timeframe = "…" in its line, '
            "or --timeframe) or their symbols"
            for name in runtime.idle_strategies()
        ]
