"""The broker port: trade an order, say at what price and fee, or refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from events.models import OrderRequested


@dataclass(frozen=True, slots=True)
class Execution:
    qty: Decimal  # filled quantity, positive; may be below the order's on a partial fill
    price: Decimal  # average fill price
    fee: Decimal  # in the quote currency


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str


class Broker(Protocol):
    def execute(self, order: OrderRequested) -> Execution | Refusal:
        """Must be safe to call again for the same order id (at most one trade per order id)."""
        ...
