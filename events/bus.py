"""The bus port: where events are published (local bus here; EventBridge or SNS on AWS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from events.envelope import Envelope


class Bus(Protocol):
    """Publishing side of a pub-sub bus (local, EventBridge or SNS)."""

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Deliver every envelope at least once, or raise with the undelivered ones preserved."""
        ...
