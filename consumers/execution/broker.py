"""The broker port: trade an order, say at what price and fee, or refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from events.bar_checks import MAX_PRICE, MAX_VOLUME, MIN_PRICE, ZERO
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


def fill_problem(order: OrderRequested, execution: Execution) -> str | None:
    """Why a broker's answer cannot be booked as a fill of `order`, or None. Checked before anything is
    applied: a fill booked with an impossible quantity, price or fee would corrupt the account for good."""
    qty, price, fee = execution.qty, execution.price, execution.fee
    if not qty.is_finite() or not ZERO < qty <= order.qty:
        return f"filled quantity {qty} is not in (0, {order.qty}]"
    if not price.is_finite() or not MIN_PRICE <= price <= MAX_PRICE:
        return f"fill price {price} is not a price"
    if not fee.is_finite() or not ZERO <= fee <= MAX_VOLUME:
        return f"fee {fee} is negative or not a number"
    return None
