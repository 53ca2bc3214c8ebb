"""Risk limits checked before an order reaches a broker; each failed check is a reason to reject."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from consumers.stores.ports import Account
from events.models import OrderRequested


class RiskLimits(BaseModel):
    """Limits for one strategy/symbol; None means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position: Decimal | None = Field(default=None, ge=0)  # absolute position in base units
    max_order_notional: Decimal | None = Field(default=None, gt=0)  # qty × reference price, quote currency
    allow_short: bool = True
    require_cash: bool = True  # a buy may not spend more cash than the sub-account holds


class RiskPolicy(BaseModel):
    """Default limits plus overrides per strategy name and per `strategy:symbol`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: RiskLimits = RiskLimits()
    overrides: dict[str, RiskLimits] = {}

    def limits_for(self, strategy: str, symbol: str) -> RiskLimits:
        return self.overrides.get(f"{strategy}:{symbol}") or self.overrides.get(strategy) or self.default


def rejection_reason(order: OrderRequested, limits: RiskLimits, account: Account, fee_bps: Decimal) -> str | None:
    """Why this order must not trade, or None. Position checks use the order's target and the position it was
    decided from, the cash check the cash at that position: none depends on the order in which concurrent
    orders happen to settle."""
    problem = position_problem(order.target, limits)
    if problem is not None:
        return f"target position {order.target} {problem}"
    decided_from = order.target - order.signed_qty
    problem = position_problem(decided_from, limits) if decided_from != account.position else None
    if problem is not None:
        # the order decided before it targeted that position, so the limits refuse it wherever it settles: this
        # order's quantity, and the cash a buy is judged by, count on a fill that never comes
        return (
            f"decided from position {decided_from}, which {problem}: it counts on the order that was to reach "
            "that position, which the limits refuse"
        )
    notional = order.qty * order.reference_price
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        return f"order notional {notional} exceeds max_order_notional {limits.max_order_notional}"
    if limits.require_cash and order.side == "buy":
        cost = notional * (1 + fee_bps / 10_000)
        cash = cash_at_decision(order, account, fee_bps)
        if cost > cash:  # worded alike whichever orders have settled, like the decision itself
            return (
                f"insufficient cash: buying needs {cost}, the sub-account has {cash} at the position {decided_from} "
                "this order was decided from"
            )
    return None


def position_problem(position: Decimal, limits: RiskLimits) -> str | None:
    """What is wrong with holding `position` under `limits` (to follow "position X "), or None."""
    if limits.max_position is not None and abs(position) > limits.max_position:
        return f"exceeds max_position {limits.max_position}"
    if not limits.allow_short and position < 0:
        return "is short and shorting is not allowed"
    return None


def cash_at_decision(order: OrderRequested, account: Account, fee_bps: Decimal) -> Decimal:
    """The sub-account's cash as it would be at the position this order was decided from (its target less
    its quantity): the difference valued at the order's reference price, less the fee trading it costs.

    The cash of the moment depends on which of the concurrent orders happen to have settled (invariant 2):
    a buy settled ahead of the sell decided before it would be refused, its target refused with it, and
    position + pending left off the target (invariant 3); a buy decided later but settled first would take
    the cash of one decided earlier. Measured at the order's own starting position, orders decided before it
    count as settled and orders decided after it as not, whatever order they really settle in (an order
    decided from a position the limits refuse is refused before this is asked: its cash would count on
    proceeds that never come). With nothing else in flight this is the cash held."""
    value = (account.position - (order.target - order.signed_qty)) * order.reference_price
    return account.cash + value - abs(value) * fee_bps / 10_000
