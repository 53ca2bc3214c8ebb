"""The broker port: trade an order, say at what price and fee, or refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from events.bar_checks import MAX_PRICE, MAX_VOLUME, MIN_PRICE, ZERO
from events.models import OrderFilled, OrderRequested


@dataclass(frozen=True, slots=True)
class Execution:
    qty: Decimal  # filled quantity, positive; may be below the order's on a partial fill
    price: Decimal  # average fill price
    fee: Decimal  # commission paid in the quote currency
    fee_base: Decimal = Decimal(0)  # commission paid in the base asset: the account received qty − fee_base
    fee_other: tuple[tuple[str, Decimal], ...] = ()  # (asset, commission) paid in other assets, e.g. BNB


def fill_of(order: OrderRequested, execution: Execution) -> OrderFilled:
    """The settlement event of an executed order, each commission in the asset it was paid in."""
    return OrderFilled.trusted(
        **{**order.identity(), "qty": execution.qty},
        price=execution.price,
        fee=execution.fee,
        fee_base=execution.fee_base,
        fee_other=dict(execution.fee_other),
    )


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
    for asset, paid in (("the base asset", execution.fee_base), *execution.fee_other):
        if not paid.is_finite() or not ZERO <= paid <= MAX_VOLUME:
            return f"fee {paid} in {asset} is negative or not a number"
    if execution.fee_base > qty:
        return f"fee {execution.fee_base} in the base asset exceeds the filled quantity {qty}"
    return None
