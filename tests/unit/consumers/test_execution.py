"""Execution: paper fills at the bar close with exact fees, risk limits and the kill switch reject, once per order."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.execution.paper import PaperBroker
from consumers.execution.risk import RiskLimits, RiskPolicy
from consumers.stores.memory import MemoryBook
from consumers.stores.ports import AccountKey, Decision, KillSwitchState, UnknownOrder
from events.models import OrderFilled, OrderRejected, OrderRequested, TargetChanged
from tests.factories import order_requested
from tests.unit.consumers.pipeline import Pipeline
from tests.unit.consumers.test_delivery_invariants import BARS, FlipFlop

KEY = AccountKey("test_strategy", "binance", "BTC/USDT")


def _requested(pipeline: Pipeline, qty: str, price: str, target: str | None = None, bar: int = 0) -> OrderRequested:
    order = order_requested(KEY, bar, qty, price, target)
    assert pipeline.book.decide(Decision(KEY, bar, order.target, order))
    return order


def test_paper_fill_is_at_the_reference_price_with_a_ten_bps_fee() -> None:
    pipeline = Pipeline(FlipFlop())
    [fill] = pipeline.order(_requested(pipeline, "1", "22462.58"))
    assert isinstance(fill, OrderFilled)
    assert (fill.price, fill.fee) == (Decimal("22462.58"), Decimal("22.46258"))
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending) == (Decimal(1), Decimal(0))
    assert account.cash == Decimal(100_000) - Decimal("22462.58") - Decimal("22.46258")


def test_slippage_costs_in_both_directions() -> None:
    broker = PaperBroker(fee_bps=Decimal(0), slippage_bps=Decimal(5))
    pipeline = Pipeline(FlipFlop())
    buy = broker.execute(_requested(pipeline, "1", "100", bar=0))
    sell = broker.execute(_requested(pipeline, "-1", "100", target="0", bar=60_000))
    assert (buy.price, sell.price) == (Decimal("100.05"), Decimal("99.95"))  # type: ignore[union-attr]


def test_a_redelivered_order_repeats_its_fill_and_changes_nothing() -> None:
    pipeline = Pipeline(FlipFlop())
    order = _requested(pipeline, "0.3", "100")
    first = pipeline.order(order)
    cash = pipeline.book.account(KEY).cash
    assert pipeline.order(order) == first
    assert pipeline.book.account(KEY).cash == cash
    assert pipeline.book.account(KEY).fills == 1


@pytest.mark.parametrize(
    ("limits", "qty", "reason"),
    [
        (RiskLimits(max_position=Decimal(1)), "2", "target position 2 exceeds max_position 1"),
        (
            RiskLimits(max_order_notional=Decimal(150)),
            "2",
            "order notional 200 exceeds max_order_notional 150",
        ),
        (RiskLimits(allow_short=False), "-1", "target position -1 is short and shorting is not allowed"),
        (RiskLimits(), "1000", "insufficient cash: buying needs 100100.0"),
    ],
)
def test_risk_limits_reject_with_a_reason_and_release_pending(limits: RiskLimits, qty: str, reason: str) -> None:
    pipeline = Pipeline(FlipFlop(), risk=RiskPolicy(default=limits))
    [rejected] = pipeline.order(_requested(pipeline, qty, "100"))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith(reason)
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending, account.cash) == (0, 0, Decimal(100_000))


def _long_short_long(pipeline: Pipeline) -> list[OrderRequested]:
    """Long 500, short 500, long 500 at 100: the second buy (100,100 with its fee) is paid by the sell before it."""
    return [
        _requested(pipeline, "500", "100", target="500", bar=0),
        _requested(pipeline, "-1000", "100", target="-500", bar=60_000),
        _requested(pipeline, "1000", "100", target="500", bar=120_000),
    ]


@pytest.mark.parametrize("settled", [(0, 1, 2), (0, 2, 1), (2, 0, 1), (2, 1, 0), (1, 2, 0)])
def test_a_buy_settled_before_the_sell_that_pays_for_it_still_fills(settled: tuple[int, int, int]) -> None:
    """The shrunk case of the delivery property test: the cash check once saw only the cash of the moment, so a
    buy settled ahead of the sell decided before it was refused for insufficient cash, its target refused with
    it, and position + pending stayed off the target (invariants 2 and 3). Every order is now checked against
    the cash once all in flight settles, so the settlement order changes nothing."""
    pipeline = Pipeline(FlipFlop())
    orders = _long_short_long(pipeline)
    for index in settled:
        [settlement] = pipeline.order(orders[index])
        assert isinstance(settlement, OrderFilled), settlement
        account = pipeline.book.account(KEY)
        assert account.position + account.pending == account.target == Decimal(500)
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending, account.rejects, account.refused_target) == (500, 0, 0, None)
    assert account.cash == Decimal(100_000) - 500 * 100 - Decimal("250")  # 2,500 lots of 100 at 10 bps


@pytest.mark.parametrize("first_delivered", [0, 1])
def test_the_cash_goes_to_the_buy_decided_first_whichever_settles_first(first_delivered: int) -> None:
    pipeline = Pipeline(FlipFlop())
    first = _requested(pipeline, "600", "100", target="600", bar=0)
    second = _requested(pipeline, "600", "100", target="1200", bar=60_000)
    for order in (first, second) if first_delivered == 0 else (second, first):
        pipeline.order(order)
    [fill], [reject] = pipeline.order(first), pipeline.order(second)  # redeliveries repeat the settlements
    assert isinstance(fill, OrderFilled)
    assert isinstance(reject, OrderRejected)
    assert reject.reason.startswith("insufficient cash: buying needs 60060.0")
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending, account.refused_target) == (600, 0, 1200)


# long 500 at 100, then a sell the limits refuse, then a buy decided on top of that sell (costing 100,100 with its
# fee, paid for only if the sell filled): no shorts at all, or no more than 500 either way
REFUSED_SELL_THEN_BUY = [
    (RiskLimits(allow_short=False), [("500", "500"), ("-1000", "-500"), ("1000", "500")]),
    (RiskLimits(max_position=Decimal(500)), [("500", "500"), ("-1100", "-600"), ("1100", "500")]),
]


@pytest.mark.parametrize(("limits", "orders"), REFUSED_SELL_THEN_BUY)
@pytest.mark.parametrize("settled", list(itertools.permutations(range(3))))
def test_a_buy_counting_on_a_sell_the_limits_refuse_is_refused_whichever_settles_first(
    limits: RiskLimits, orders: list[tuple[str, str]], settled: tuple[int, ...]
) -> None:
    """The buy was decided from the position the refused sell was to reach: judged at that position's cash it
    would fill, on proceeds that never come, into negative cash (and a position the strategy never wanted)."""
    pipeline = Pipeline(FlipFlop(), risk=RiskPolicy(default=limits))
    requested = [_requested(pipeline, qty, "100", target, bar=n * 60_000) for n, (qty, target) in enumerate(orders)]
    settlements = {index: pipeline.order(requested[index]) for index in settled}
    assert isinstance(settlements[0][0], OrderFilled)
    assert isinstance(settlements[1][0], OrderRejected) and settlements[1][0].reason.startswith("target position")
    [buy] = settlements[2]
    assert isinstance(buy, OrderRejected)
    assert buy.reason.startswith(f"decided from position {orders[1][1]}, which ")
    assert buy.reason.endswith(": it counts on the order that was to reach that position, which the limits refuse")
    account = pipeline.book.account(KEY)
    assert (account.position, account.pending, account.rejects) == (500, 0, 2)
    assert account.cash == Decimal(100_000) - 500 * 100 - 50


def _decided(pipeline: Pipeline, bar: int, qty: Decimal, price: Decimal) -> OrderRequested:
    """An order for `qty` more, decided as the strategy consumer decides: on top of position + pending."""
    account = pipeline.book.account(KEY)
    target = account.position + account.pending + qty
    return _requested(pipeline, str(qty), str(price), str(target), bar=bar)


@given(
    held=st.integers(0, 30),
    sold=st.integers(1, 60),
    bought=st.integers(1, 60),
    price=st.decimals(Decimal("0.01"), Decimal(5_000), places=2),
    cash=st.integers(0, 200_000),
    max_position=st.none() | st.integers(0, 60),
    allow_short=st.booleans(),
)
def test_a_sell_then_a_buy_in_flight_settle_alike_either_way_and_never_below_zero_cash(
    *, held: int, sold: int, bought: int, price: Decimal, cash: int, max_position: int | None, allow_short: bool
) -> None:
    """Whatever the limits refuse of a held position, a sell and a buy decided on top of it: the same fills,
    holdings and cash in either settlement order, the cash never below zero, and on the target unless refused."""
    limits = RiskLimits(max_position=None if max_position is None else Decimal(max_position), allow_short=allow_short)
    outcomes = []
    for buy_first in (False, True):
        pipeline = Pipeline(FlipFlop(), risk=RiskPolicy(default=limits), book=MemoryBook(Decimal(cash)))
        if held:
            pipeline.order(_decided(pipeline, 0, Decimal(held), price))
        sell = _decided(pipeline, 60_000, Decimal(-sold), price)
        buy = _decided(pipeline, 120_000, Decimal(bought), price)
        settlements = [pipeline.order(order)[0] for order in ((buy, sell) if buy_first else (sell, buy))]
        account = pipeline.book.account(KEY)
        assert account.cash >= 0 and account.pending == 0
        if not any(isinstance(settlement, OrderRejected) for settlement in settlements):
            assert account.position == account.target == buy.target
        outcomes.append((sorted(map(repr, settlements)), account.position, account.cash, account.fees))
    assert outcomes[0] == outcomes[1]


def test_per_strategy_override_beats_the_default() -> None:
    policy = RiskPolicy(
        default=RiskLimits(max_position=Decimal(10)),
        overrides={"test_strategy": RiskLimits(max_position=Decimal("0.5"))},
    )
    pipeline = Pipeline(FlipFlop(), risk=policy)
    [rejected] = pipeline.order(_requested(pipeline, "1", "100"))
    assert isinstance(rejected, OrderRejected)


def test_kill_switch_rejects_every_order_until_released() -> None:
    pipeline = Pipeline(FlipFlop())
    pipeline.kill_switch.engage(KillSwitchState.new("halt", "exchange incident"))
    [rejected] = pipeline.order(_requested(pipeline, "1", "100"))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason == "kill switch engaged: exchange incident"
    pipeline.kill_switch.release()
    [filled] = pipeline.order(_requested(pipeline, "1", "100", bar=60_000))
    assert isinstance(filled, OrderFilled)


def test_an_order_the_book_never_recorded_is_refused() -> None:
    pipeline = Pipeline(FlipFlop())
    stray = OrderRequested(
        order_id="stds-forged",
        strategy="x",
        exchange="binance",
        symbol="BTC/USDT",
        side="buy",
        qty=Decimal(1),
        target=Decimal(1),
        reference_price=Decimal(1),
        bar_open_time_ms=0,
    )
    with pytest.raises(UnknownOrder, match="never recorded"):
        pipeline.order(stray)


def test_a_refused_target_is_not_ordered_again_until_the_strategy_changes_its_mind() -> None:
    pipeline = Pipeline(FlipFlop({"qty": "0.5"}), risk=RiskPolicy(default=RiskLimits(allow_short=False)))
    pipeline.run_in_order(BARS)
    rejects = [e for e in pipeline.emitted if isinstance(e, OrderRejected)]
    shorts_wanted = [e for e in pipeline.emitted if isinstance(e, TargetChanged) and e.target < 0]
    # one reject per time the strategy turned short, not one per bar it stayed short
    assert len(rejects) == len(shorts_wanted) > 3
    assert all(account.position >= 0 for account in pipeline.book.accounts())
