"""Execution as a function runs it: each order once, whatever the deliveries, its settlement published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consumers.execution.consumer import ExecutionConsumer
from consumers.stores.ports import ProcessedIds
from events.bus import Bus
from events.envelope import wrap
from events.models import Event, OrderRequested

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
