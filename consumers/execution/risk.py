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
    """Why this order must not trade, or None. Position checks use the order's target, which does
    not depend on the order in which concurrent orders happen to settle."""
    if limits.max_position is not None and abs(order.target) > limits.max_position:
        return f"target position {order.target} exceeds max_position {limits.max_position}"
    if not limits.allow_short and order.target < 0:
        return f"target position {order.target} is short and shorting is not allowed"
    notional = order.qty * order.reference_price
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        return f"order notional {notional} exceeds max_order_notional {limits.max_order_notional}"
    if limits.require_cash and order.side == "buy":
        cost = notional * (1 + fee_bps / 10_000)
        if cost > account.cash:
            return f"insufficient cash: buying needs {cost}, the sub-account holds {account.cash}"
    return None
