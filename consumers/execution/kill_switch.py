"""What an engaged kill switch lets through, and the orders that flatten the book: one rule for every runtime."""

from __future__ import annotations

from decimal import Decimal

from consumers.stores.ports import Account, KillSwitchState
from events.ids import flatten_order_id
from events.models import BarClosed, OrderRequested, Side


def reduces_toward_flat(side: Side, qty: Decimal, position: Decimal) -> bool:
    """A sell of at most a long position, or a buy of at most a short one: never away from flat, never across it."""
    if position > 0:
        return side == "sell" and qty <= position
    if position < 0:
        return side == "buy" and qty <= -position
    return False


def kill_switch_refusal(switch: KillSwitchState | None, order: OrderRequested, position: Decimal) -> str | None:
    """Why the switch refuses this order on an account holding `position`, or None if it may trade.
    `halt` refuses everything; `reduce-only` and `flatten` (until its closes are done) only what reduces."""
    if switch is None:
        return None
    if switch.mode == "halt":
        return f"kill switch engaged: {switch.reason}"
    if reduces_toward_flat(order.side, order.qty, position):
        return None
    return (
        f"kill switch engaged ({switch.mode}: only orders toward a flat position pass; "
        f"{order.side} {order.qty} on position {position} does not): {switch.reason}"
    )


def closing_order(flatten: KillSwitchState, account: Account, newest: BarClosed) -> OrderRequested:
    """The market order that takes `account` flat at the close of its symbol's `newest` bar. Its id comes from
    the engagement and the account: every retry of one flatten asks for the same order, and a later flatten
    never collides with it."""
    key = account.key
    return OrderRequested.trusted(
        order_id=flatten_order_id(flatten.engagement, key.strategy, key.exchange, key.symbol),
        strategy=key.strategy,
        exchange=key.exchange,
        symbol=key.symbol,
        side="sell" if account.position > 0 else "buy",
        qty=abs(account.position),
        target=Decimal(0),
        reference_price=newest.close,
        bar_open_time_ms=newest.open_time_ms,
    )
