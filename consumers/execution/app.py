"""Execution as a function runs it: each order once, whatever the deliveries, its settlement published."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from consumers.execution.consumer import ExecutionConsumer
from consumers.inbox import Inbox
from consumers.stores.ports import ProcessedIds, Settlement
from events.bus import Bus
from events.envelope import wrap
from events.models import BarsClosed, Event, OrderRequested

CONSUMER = "execution"


@dataclass(frozen=True)
class ExecutionApp:
    consumer: ExecutionConsumer
    processed: ProcessedIds
    bus: Bus
    inbox: Inbox = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inbox", Inbox(CONSUMER, self.processed, self.bus))

    def on_order(self, order: OrderRequested, at: datetime) -> list[Event]:
        """Settle the order once (its settlement published, then the order marked handled: `Inbox`)."""
        return self.inbox.handle(order, at, self.consumer.on_order)

    def on_bars(self, batch: BarsClosed, at: datetime) -> list[Settlement]:
        """A minute's bars: an engaged `flatten` closes at their closes. No inbox: each close is placed and
        settled once per engagement by its own id, so a redelivered batch changes nothing."""
        settled = self.consumer.flatten(lambda: {(bar.exchange, bar.symbol): bar for bar in batch.bar_events()})
        self.bus.publish([wrap(event, at) for event in settled])
        return settled
