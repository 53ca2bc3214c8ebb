"""One process, the whole loop: bars → local bus → strategy consumers → execution → holdings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from consumers.execution.app import ExecutionApp
from consumers.execution.broker import Broker
from consumers.execution.consumer import ORDERS_PATTERN, ExecutionConsumer
from consumers.execution.paper import PaperBroker
from consumers.execution.risk import RiskPolicy
from consumers.stores.ports import Stores
from consumers.strategies.consumer import StrategyConsumer
from events.aggregation import HigherBars, higher_timeframes
from events.dead_letters import DeadLetters
from events.envelope import Envelope, wrap
from events.local_bus import LocalBus
from events.models import BarClosed, Event, OrderRequested
from infra.config import PaperConfig
from infra.local.consumer_group import ConsumerGroup, runs_of_one_pattern
from infra.strategy_loader import LoadedStrategy

EXECUTION = "execution"


class LocalRuntime:
    """Subscribes every configured strategy (by its own event pattern) and execution to one local bus; the bars
    above 1m that the strategies subscribe to are made from the bars published (`events.aggregation`)."""

    def __init__(
        self,
        specs: Sequence[LoadedStrategy],
        stores: Stores,
        dead_letters: DeadLetters,
        *,
        risk: RiskPolicy,
        paper: PaperConfig,
        broker: Broker | None = None,
    ) -> None:
        self.stores = stores
        self.bus = LocalBus(dead_letters)
        self.strategies: dict[str, StrategyConsumer] = {}
        for run in runs_of_one_pattern(specs):
            # no inbox here: the decision cursor already makes bar deliveries idempotent (property-tested),
            # and skipping the processed-id check is 12% of the per-bar cost
            consumers = tuple(
                StrategyConsumer(
                    spec.name, spec.strategy, stores.bars, stores.book, dead_letters, spec.stake, spec.informative
                )
                for spec in run
            )
            self.strategies.update((consumer.name, consumer) for consumer in consumers)
            if len(consumers) == 1:
                self.bus.subscribe_detail(run[0].name, run[0].pattern, consumers[0].on_bar)
            else:  # neighbours hearing the same bars: one delivery a bar for all of them
                group = ConsumerGroup(consumers, stores.bars, dead_letters)
                self.bus.subscribe_detail(group.name, run[0].pattern, group.on_bar)
        self.patterns = {spec.name: spec.pattern for spec in specs}
        higher = higher_timeframes(
            [*(spec.pattern for spec in specs), *(p for s in specs for p in s.informative_patterns)]
        )
        # the higher bars the strategies subscribe to, made from the bars published (none: a run on 1m pays nothing)
        self.higher_bars = HigherBars(self._publish, higher) if higher else None
        self.publish_bar: Callable[[BarClosed], None] = self.higher_bars or self._publish
        self.readers = [spec for spec in specs if spec.informative]
        if self.readers:
            self.publish_bar = self._publish_with_informative
        self.execution = execution = ExecutionConsumer(
            book=stores.book,
            broker=broker or PaperBroker(paper.fee_bps, paper.slippage_bps),
            risk=risk,
            kill_switch=stores.kill_switch,
            fee_bps=paper.fee_bps,
        )
        orders = ExecutionApp(execution, stores.processed, self.bus)

        def on_order(envelope: Envelope) -> list[Event]:
            assert isinstance(envelope.detail, OrderRequested)  # all ORDERS_PATTERN takes
            orders.on_order(envelope.detail, envelope.time)
            return []  # published by the app's inbox, before it marked the order handled

        self.bus.subscribe(EXECUTION, ORDERS_PATTERN, on_order)
        self._newest: dict[tuple[str, str], BarClosed] = {}  # per (exchange, symbol): what a flatten closes at
        self._closing_ms = -1

    def _publish(self, bar: BarClosed) -> None:
        if bar.close_time_ms != self._closing_ms:  # once a minute, as the AWS execution function hears a batch
            self._closing_ms = bar.close_time_ms
            self.flatten()
        self._newest[bar.exchange, bar.symbol] = bar
        # a bar becomes a fact the moment its interval ends
        self.bus.publish_event(bar, lambda: bar.closed_at)

    def _publish_with_informative(self, bar: BarClosed) -> None:
        """Store every informative bar a closing minute makes before delivering any of them: the 5m bar closing at
        11:00 then sees the 1h bar closing at 11:00, whichever of them the aggregator made first (the visibility
        rule, `consumers/strategies/informative.py`)."""
        made = self.higher_bars.aggregator.add(bar) if self.higher_bars is not None else [bar]
        for each in made:
            if any(spec.reads_informative(each) for spec in self.readers):
                self.stores.bars.add(each)
        for each in made:
            self._publish(each)

    def flatten(self) -> None:
        """Carry out an engaged `flatten` at the newest closes seen, before the next minute's bars decide anything."""
        settled = self.execution.flatten(lambda: self._newest)
        if settled:
            newest = max(self._newest.values(), key=lambda bar: bar.close_time_ms)
            self.bus.publish([wrap(settlement, newest.closed_at) for settlement in settled])

    def idle_strategies(self) -> list[str]:
        """The strategies no bar reached during this run: their pattern selects none of the bars published."""
        return [name for name, consumer in self.strategies.items() if not consumer.account_keys]

    def pattern_of(self, strategy: str) -> dict[str, Any]:
        return self.patterns[strategy]

    def feed(
        self,
        bars: Iterable[BarClosed],
        *,
        commit_every_s: float = 1.0,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Publish bars in the given order, committing state at least every `commit_every_s` seconds
        (and after the last bar); `on_progress` hears how many bars went by, in batches."""
        count = 0
        next_commit = time.monotonic() + commit_every_s
        publish = self.publish_bar
        for bar in bars:
            publish(bar)
            count += 1
            if not count & 255:
                if on_progress is not None:
                    on_progress(256)
                if time.monotonic() >= next_commit:
                    self.stores.commit()
                    next_commit = time.monotonic() + commit_every_s
        self.stores.commit()
        if on_progress is not None:
            on_progress(count & 255)
        return count
