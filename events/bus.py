"""The bus port: where events are published. Subscriptions are EventBridge event patterns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from events.envelope import Envelope
from events.models import Event

# A consumer as the bus sees it: an envelope in, the events it caused out.
Handler = Callable[[Envelope], Sequence[Event]]


class Bus(Protocol):
    """Publishing side of a pub-sub bus (local, EventBridge or SNS)."""

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Deliver every envelope at least once, or raise with the undelivered ones preserved."""
        ...
