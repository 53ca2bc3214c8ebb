"""Order events built the way the consumers build them, for tests that need one at hand."""

from __future__ import annotations

from decimal import Decimal

from consumers.stores.ports import AccountKey
from events.models import OrderFilled, OrderRejected, OrderRequested, new_order_id


def order_requested(
    key: AccountKey, bar_open_time_ms: int, qty: str, price: str = "100", target: str | None = None
) -> OrderRequested:
    """`qty` is signed: negative sells. The target defaults to that quantity (from a flat position)."""
    signed = Decimal(qty)
    return OrderRequested(
        order_id=new_order_id(key.strategy, key.exchange, key.symbol, bar_open_time_ms),
        strategy=key.strategy,
        exchange=key.exchange,
        symbol=key.symbol,
        side="buy" if signed > 0 else "sell",
        qty=abs(signed),
        target=Decimal(target) if target is not None else signed,
        reference_price=Decimal(price),
        bar_open_time_ms=bar_open_time_ms,
    )


def filled(order: OrderRequested, price: str = "100", fee: str = "0.1") -> OrderFilled:
    return OrderFilled(**order.identity(), price=Decimal(price), fee=Decimal(fee))


def rejected(order: OrderRequested, reason: str = "test") -> OrderRejected:
    return OrderRejected(**order.identity(), reason=reason)
