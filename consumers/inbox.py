"""Handle each event once: skip a delivery already handled, publish what handling it caused, then mark it handled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from consumers.stores.ports import ProcessedIds
from events.bus import Bus
from events.envelope import wrap
from events.models import Event

E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Inbox:
    """One consumer's inbox, the same in `stds run`/`stds replay` and on Lambda.

    Deliveries are recognised by the event's deterministic id (EventBridge gives every delivery an envelope id
    of its own). What a handled event caused is published before the event is marked: a crash in between
    leaves it unmarked, so the redelivery handles it again, the consumer repeats its recorded outcome and it is
    published again under the same ids, which every consumer downstream dedupes. The other order would lose it.
    """

    consumer: str
    processed: ProcessedIds
    bus: Bus

    def handle(self, event: E, at: datetime, react: Callable[[E], list[Event]]) -> list[Event]:
        """`react(event)` unless already handled; what it caused is published stamped `at` (its cause's time)."""
        event_id = event.event_id
        if self.processed.seen(self.consumer, event_id):
            return []
        caused = react(event)
        if caused:
            self.bus.publish([wrap(effect, at) for effect in caused])
        self.processed.mark(self.consumer, event_id)
        return caused
