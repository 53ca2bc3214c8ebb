"""A test harness: strategy + execution consumers on memory stores, with deliveries under test control."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from consumers.execution.consumer import ExecutionConsumer
from consumers.execution.paper import PaperBroker
from consumers.execution.risk import RiskPolicy
from consumers.stores.memory import MemoryBarStore, MemoryBook, MemoryKillSwitch
from consumers.strategies.base import Strategy
from consumers.strategies.consumer import StrategyConsumer
from events.dead_letters import DeadLetterList
from events.models import BarClosed, Event, OrderFilled, OrderRejected, OrderRequested


@dataclass
class Pipeline:
    strategy: Strategy
    name: str = "test_strategy"
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    bars: MemoryBarStore = field(default_factory=lambda: MemoryBarStore(200))
    book: MemoryBook = field(default_factory=lambda: MemoryBook(Decimal(100_000)))
    kill_switch: MemoryKillSwitch = field(default_factory=MemoryKillSwitch)
    emitted: list[Event] = field(default_factory=list)
    dead_letters: DeadLetterList = field(default_factory=DeadLetterList)

    def __post_init__(self) -> None:
        self.consumer = StrategyConsumer(self.name, self.strategy, self.bars, self.book, self.dead_letters)
        self.execution = ExecutionConsumer(self.book, PaperBroker(), self.risk, self.kill_switch, fee_bps=Decimal(10))

    def bar(self, bar: BarClosed) -> list[Event]:
        events = self.consumer.on_bar(bar)
        self.emitted.extend(events)
        return events

    def order(self, order: OrderRequested) -> list[Event]:
        events = self.execution.on_order(order)
        self.emitted.extend(events)
        return events

    def run_in_order(self, bars: Iterable[BarClosed]) -> None:
        for bar in bars:
            for event in self.bar(bar):
                if isinstance(event, OrderRequested):
                    self.order(event)

    def outcome(self) -> dict[str, Any]:
        """Everything invariant 2 says must not depend on duplication or delivery order."""
        orders = {e.order_id: e for e in self.emitted if isinstance(e, OrderRequested)}
        fills = {e.order_id: e for e in self.emitted if isinstance(e, OrderFilled)}
        rejects = {e.order_id: e for e in self.emitted if isinstance(e, OrderRejected)}
        accounts = {
            a.key: (a.position, a.pending, a.cash, a.fees, a.target, a.decided_through_ms) for a in self.book.accounts()
        }
        return {"orders": orders, "fills": fills, "rejects": rejects, "accounts": accounts}
