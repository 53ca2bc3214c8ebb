"""Execution consumer: OrderRequested → risk checks → broker → holdings updated once → OrderFilled/Rejected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from consumers.execution.broker import Broker, Execution, fill_of, fill_problem
from consumers.execution.kill_switch import closing_order, kill_switch_refusal
from consumers.execution.risk import RiskPolicy, rejection_reason
from consumers.stores.ports import (
    Account,
    AccountKey,
    Book,
    KillSwitch,
    OrderMismatch,
    OrderRecord,
    Settlement,
    UnknownOrder,
)
from consumers.stores.transitions import apply_settlement
from events.ids import flatten_order_id
from events.models import BarClosed, Event, OrderFilled, OrderRejected, OrderRequested

# what execution subscribes to, on the local bus and as the AWS rule or SNS filter
ORDERS_PATTERN = {"detail-type": ["OrderRequested"]}
# the execution function's on AWS: each minute's bars too, at whose closes an engaged flatten closes positions
# (the local runtime sees every bar it publishes, and calls `flatten` itself)
FUNCTION_PATTERN = {"detail-type": ["OrderRequested", "BarsClosed"]}


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

    def flatten(self, newest: Callable[[], Mapping[tuple[str, str], BarClosed]]) -> list[Settlement]:
        """While the switch says `flatten`: close every position at the close of its symbol's newest bar
        (`newest` gives them by exchange and symbol, asked only then), each once per engagement whatever the
        retries, then turn the switch to `halt`. A position without a bar yet waits for the next call; a close
        the broker or a limit refuses is reported in the switch's reason, not retried."""
        flatten = self.kill_switch.engaged()
        if flatten is None or flatten.mode != "flatten":
            return []
        settled: list[Settlement] = []
        waiting = 0
        bars = newest()
        for account in self.book.accounts():
            key = account.key
            record = self.book.order(flatten_order_id(flatten.engagement, key.strategy, key.exchange, key.symbol))
            if record is None:
                bar = bars.get((key.exchange, key.symbol))
                if not account.position or bar is None:
                    waiting += bool(account.position)
                    continue
                order = closing_order(flatten, account, bar)
                record = OrderRecord(order) if self.book.place(order) else self.book.order(order.order_id)
                assert record is not None  # not placed here: a concurrent delivery placed it first
            caused = self.on_order(record.request)
            settled.extend(event for event in caused if isinstance(event, OrderFilled | OrderRejected))
        if waiting:
            return settled
        refused = [settlement for settlement in settled if isinstance(settlement, OrderRejected)]
        outcome = f"flattened ({len(settled) - len(refused)} closed"
        outcome += f", {len(refused)} refused: see their rejections)" if refused else ")"
        self.kill_switch.settle_flatten(flatten, f"{outcome}: {flatten.reason}")
        return settled

    def _settle(self, order: OrderRequested) -> Settlement:
        account = self.book.account(AccountKey(order.strategy, order.exchange, order.symbol))
        reason = kill_switch_refusal(self.kill_switch.engaged(), order, account.position) or rejection_reason(
            order, self.risk.limits_for(order.strategy, order.symbol), account, self.fee_bps
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
