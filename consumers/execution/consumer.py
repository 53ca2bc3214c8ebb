"""Execution consumer: OrderRequested → risk checks → broker → holdings updated once → OrderFilled/Rejected."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from consumers.execution.broker import Broker, Execution, fill_of, fill_problem
from consumers.execution.risk import RiskPolicy, rejection_reason
from consumers.stores.ports import Account, AccountKey, Book, KillSwitch, OrderMismatch, Settlement, UnknownOrder
from consumers.stores.transitions import apply_settlement
from events.models import Event, OrderFilled, OrderRejected, OrderRequested

# what execution subscribes to, on the local bus and as the AWS rule or SNS filter
ORDERS_PATTERN = {"detail-type": ["OrderRequested"]}


@dataclass(frozen=True, slots=True)
class ExecutionConsumer:
    """Settles each order id exactly once; a redelivered order re-announces its settlement instead."""

    book: Book
    broker: Broker
    risk: RiskPolicy
    kill_switch: KillSwitch
    fee_bps: Decimal

    def on_order(self, order: OrderRequested) -> list[Event]:
        record = self.book.order(order.order_id)
        if record is None:
            raise UnknownOrder(
                f"order {order.order_id} ({order.strategy} {order.symbol}) was never recorded by a strategy "
                "consumer; refusing to trade an order that is not in the book"
            )
        if record.settlement is not None:
            return [record.settlement]
        if record.request != order:
            raise OrderMismatch(
                f"order {order.order_id} as delivered differs from the order the strategy recorded; "
                "refusing to trade it (only the recorded order is ever traded)"
            )
        settlement = self._settle(order)
        if not self.book.settle(settlement):
            existing = self.book.order(order.order_id)
            assert existing is not None and existing.settlement is not None
            return [existing.settlement]  # a concurrent delivery settled it first
        return [settlement]

    def _settle(self, order: OrderRequested) -> Settlement:
        account = self.book.account(AccountKey(order.strategy, order.exchange, order.symbol))
        halted = self.kill_switch.engaged()
        reason = (
            f"kill switch engaged: {halted}"
            if halted
            else rejection_reason(order, self.risk.limits_for(order.strategy, order.symbol), account, self.fee_bps)
        )
        if reason is None:
            outcome = self.broker.execute(order)
            if not isinstance(outcome, Execution):
                reason = outcome.reason
            else:
                fill = fill_of(order, outcome)
                problem = _unbookable(outcome, fill, order, account)
                if problem is None:
                    return fill
                reason = (
                    f"the broker's answer cannot be booked ({problem}); nothing was applied: "
                    f"check order {order.order_id} on the exchange"
                )
        return OrderRejected.trusted(**order.identity(), reason=reason)


def _unbookable(outcome: Execution, fill: OrderFilled, order: OrderRequested, account: Account) -> str | None:
    """Why the broker's answer cannot be applied to the account: a bad value, or arithmetic that would
    fail (tried on a copy, so the settlement that is then applied applies whole)."""
    problem = fill_problem(order, outcome)
    if problem is not None:
        return problem
    try:
        apply_settlement(account.copy(), order, fill)
    except ArithmeticError as error:
        return f"applying it fails: {error!r}"
    return None
