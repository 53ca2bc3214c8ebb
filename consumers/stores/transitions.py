"""How a decision and a settlement change an account: one set of rules for every store adapter."""

from __future__ import annotations

from decimal import Decimal

from consumers.stores.ports import Account, Decision, Settlement
from events.models import OrderFilled, OrderRequested


def apply_decision(account: Account, decision: Decision) -> None:
    """Move the cursor to the decided bar, take the new target, and count the order as pending.
    The caller has checked the cursor is before the bar and the order id is new."""
    if decision.order is not None:
        account.pending += decision.order.signed_qty
    account.decided_through_ms = decision.bar_open_time_ms
    # `is not None` first: a Decimal compared with None asks numbers' ABCs, a tenth of a decision's cost
    if account.refused_target is not None and decision.target != account.refused_target:
        account.refused_target = None
    account.target = decision.target


def apply_placement(account: Account, order: OrderRequested) -> None:
    """An order placed outside a decision (a flatten's close) is pending; cursor and target stay."""
    account.pending += order.signed_qty


def moves_only_the_cursor(account: Account, target: Decimal, order: OrderRequested | None) -> bool:
    """True when `apply_decision` of (`target`, `order`) would change nothing but the cursor: no order, the same
    target, and no refused target that this decision would release. A store may then keep the cursor apart,
    unwritten, and a strategy consumer asks its book for `move_cursor` only (most of a strategy's bars)."""
    refused = account.refused_target
    # `is None` first: a Decimal compared with None asks numbers' ABCs
    return order is None and target == account.target and (refused is None or refused == target)


def apply_settlement(account: Account, request: OrderRequested, settlement: Settlement) -> None:
    """Release the order's pending quantity; a fill moves position, cash and fees, a rejection
    remembers the refused target. The caller has checked the order was not settled before.
    Every new value is computed before any is assigned: arithmetic that fails changes nothing."""
    pending = account.pending - request.signed_qty
    if isinstance(settlement, OrderFilled):
        position = account.position + settlement.position_change
        cash = account.cash + settlement.cash_change
        fees = account.fees + settlement.fee + settlement.fee_base * settlement.price
        fee_assets = dict(account.fee_assets)
        for asset, paid in settlement.fee_other.items():
            fee_assets[asset] = fee_assets.get(asset, Decimal(0)) + paid
        account.pending, account.position, account.cash, account.fees = pending, position, cash, fees
        account.fee_assets = fee_assets
        account.fills += 1
    else:
        account.pending = pending
        account.rejects += 1
        account.refused_target = request.target
