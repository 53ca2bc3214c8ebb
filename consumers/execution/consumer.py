"""Execution consumer: OrderRequested → risk checks → broker → holdings updated once → OrderFilled/Rejected."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from consumers.execution.broker import Broker, Execution
from consumers.execution.risk import RiskPolicy, rejection_reason
from consumers.stores.ports import AccountKey, Book, KillSwitch, Settlement, UnknownOrder
from events.models import Event, OrderFilled, OrderRejected, OrderRequested


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
            if isinstance(outcome, Execution):
                filled = {**order.identity(), "qty": outcome.qty}
                return OrderFilled.trusted(**filled, price=outcome.price, fee=outcome.fee)
            reason = outcome.reason
        return OrderRejected.trusted(**order.identity(), reason=reason)
