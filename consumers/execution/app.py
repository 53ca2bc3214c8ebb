"""Execution as a function runs it: each order once, whatever the deliveries, its settlement published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consumers.execution.consumer import ExecutionConsumer
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

    def on_order(self, order: OrderRequested, at: datetime) -> list[Event]:
        """Skip a delivery already handled; publish before marking, so a crash in between re-publishes
        (consumers dedupe by the deterministic ids) rather than loses the settlement."""
        if self.processed.seen(CONSUMER, order.event_id):
            return []
        caused = self.consumer.on_order(order)
        self.bus.publish([wrap(event, at) for event in caused])
        self.processed.mark(CONSUMER, order.event_id)
        return caused

    def on_bars(self, batch: BarsClosed, at: datetime) -> list[Settlement]:
        """A minute's bars: an engaged `flatten` closes at their closes. No inbox: each close is placed and
        settled once per engagement by its own id, so a redelivered batch changes nothing."""
        settled = self.consumer.flatten(lambda: {(bar.exchange, bar.symbol): bar for bar in batch.bar_events()})
        self.bus.publish([wrap(event, at) for event in settled])
        return settled
