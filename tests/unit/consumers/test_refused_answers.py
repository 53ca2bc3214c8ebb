"""What strategies and brokers answer is checked before it touches the book: a bad answer is refused,
named, and changes nothing it should not, and the decisions after it still happen."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from consumers.execution.broker import Execution, Refusal
from consumers.execution.consumer import ExecutionConsumer
from consumers.execution.risk import RiskPolicy
from consumers.stores.ports import Account, AccountKey, Decision, OrderMismatch
from consumers.stores.transitions import apply_settlement
from consumers.strategies.base import Strategy
from consumers.strategies.window import Window
from events.models import OrderFilled, OrderRejected, OrderRequested
from tests.factories import order_requested
from tests.unit.consumers.pipeline import Pipeline
from tests.unit.consumers.test_delivery_invariants import BARS

KEY = AccountKey("test_strategy", "binance", "BTC/USDT")


class Answers(Strategy):
    """Answers `bad` at the third decision and 1 otherwise."""

    name = "answers"

    def __init__(self, bad: object) -> None:
        super().__init__()
        self.bad = bad
        self.calls = 0

    @property
    def lookback(self) -> int:
        return 2

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        self.calls += 1
        if self.calls == 3:
            if isinstance(self.bad, Exception):
                raise self.bad
            return self.bad  # type: ignore[return-value]
        return Decimal(self.calls % 2)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (Decimal("Infinity"), "returned Decimal('Infinity')"),
        (Decimal("NaN"), "returned Decimal('NaN')"),
        (Decimal("-1e30"), "returned Decimal('-1E+30')"),
        (0.5, "returned 0.5 (float)"),
        (None, "returned None"),
        (ZeroDivisionError("division by zero"), "raised ZeroDivisionError('division by zero')"),
    ],
)
def test_a_bad_target_is_dead_lettered_naming_the_strategy_bar_and_value(bad: object, said: str) -> None:
    pipeline = Pipeline(Answers(bad))
    pipeline.run_in_order(BARS[:6])
    [letter] = pipeline.dead_letters
    third_decided = BARS[3]  # lookback 2: bars 1, 2, 3 are the first three decisions
    assert letter.origin == f"strategy test_strategy at {third_decided.event_id}"
    assert said in letter.error and "the target stays 0" in letter.error
    account = pipeline.book.account(KEY)
    # answers 1, 0, bad (held at 0), then the decisions after it went on: 0 at bar 4, 1 at bar 5
    assert account.decided_through_ms == BARS[5].open_time_ms
    assert account.target == Decimal(1)
    assert all(
        abs(order.qty).is_finite() and order.qty <= 1 for order in pipeline.emitted if isinstance(order, OrderRequested)
    )


def test_a_target_finer_than_the_market_is_rounded_toward_zero() -> None:
    pipeline = Pipeline(Answers(Decimal("0.123456789999")))
    pipeline.run_in_order(BARS[:4])
    assert pipeline.book.account(KEY).target == Decimal("0.12345678")
    assert not list(pipeline.dead_letters)


@dataclass(frozen=True)
class AnswerOnce:
    answer: Execution | Refusal

    def execute(self, order: OrderRequested) -> Execution | Refusal:
        return self.answer


@pytest.mark.parametrize(
    ("execution", "said"),
    [
        (Execution(Decimal(2), Decimal(100), Decimal("0.1")), "filled quantity 2 is not in (0, 1]"),
        (Execution(Decimal(0), Decimal(100), Decimal("0.1")), "filled quantity 0"),
        (Execution(Decimal(1), Decimal("1E+999999"), Decimal("0.1")), "fill price 1E+999999 is not a price"),
        (Execution(Decimal(1), Decimal(-5), Decimal("-0.005")), "fill price -5 is not a price"),
        (Execution(Decimal(1), Decimal(100), Decimal("-0.1")), "fee -0.1 is negative"),
        (Execution(Decimal(1), Decimal(100), Decimal("NaN")), "fee NaN"),
    ],
)
def test_an_impossible_fill_is_rejected_whole_and_the_account_only_releases_pending(
    execution: Execution, said: str
) -> None:
    pipeline = Pipeline(Answers(Decimal(1)))
    pipeline.execution = ExecutionConsumer(
        pipeline.book, AnswerOnce(execution), RiskPolicy(), pipeline.kill_switch, fee_bps=Decimal(10)
    )
    order = order_requested(KEY, BARS[0].open_time_ms, "1", "100")
    assert pipeline.book.decide(Decision(KEY, order.bar_open_time_ms, order.target, order))
    [settlement] = pipeline.order(order)
    assert isinstance(settlement, OrderRejected)
    assert said in settlement.reason and "nothing was applied" in settlement.reason
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending, account.cash, account.fees) == (0, 0, Decimal(100_000), 0)


def test_a_settlement_whose_arithmetic_fails_changes_no_field() -> None:
    order = order_requested(KEY, BARS[0].open_time_ms, "10", "100")
    account = Account(KEY, cash=Decimal(100), pending=Decimal(10))
    # the model allows no such price; a trusted one could carry it
    overflowing = OrderFilled.trusted(**order.identity(), price=Decimal("9E+999999"), fee=Decimal("0.1"))
    before = account.copy()
    with pytest.raises(ArithmeticError):
        apply_settlement(account, order, overflowing)
    assert account == before


def test_a_delivered_order_that_differs_from_the_recorded_one_is_not_traded() -> None:
    pipeline = Pipeline(Answers(Decimal(1)))
    order = order_requested(KEY, BARS[0].open_time_ms, "1", "100")
    assert pipeline.book.decide(Decision(KEY, order.bar_open_time_ms, order.target, order))
    tampered = order.model_copy(update={"qty": Decimal(50)})
    with pytest.raises(OrderMismatch):
        pipeline.order(tampered)
    assert [e for e in pipeline.emitted if isinstance(e, OrderFilled)] == []
    assert pipeline.book.account(KEY).pending == Decimal(1)
