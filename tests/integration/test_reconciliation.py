"""Reconciliation against the local Binance's order API, with the book in SQLite and in DynamoDB Local:
every kind of drift is settled from the exchange's answer, or halts trading naming what differs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from consumers.execution.ccxt_broker import CcxtBroker, Credentials, OrderStillOpen
from consumers.execution.consumer import ExecutionConsumer
from consumers.execution.risk import RiskPolicy
from consumers.reconciliation.reconciler import Reconciler
from consumers.reconciliation.settings import ReconcileSettings
from consumers.stores.ports import AccountKey, Decision, Stores
from events.models import OrderFilled, OrderRejected, OrderRequested
from infra.aws.stores import dynamodb_stores
from infra.local.stores import sqlite_stores
from tests.conftest import spot_day_bars
from tests.factories import order_requested
from tests.integration.test_ccxt_broker import API_KEY, FAST, PRICE, SECRET, serving
from tools.local_exchange.orders import SpotAccount
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

KEY = AccountKey("sma", "binance", "BTC/USDT")
CASH = Decimal(1000)
BARS = spot_day_bars(limit=60)
NOW_MS = BARS[-1].open_time_ms + 3_600_000  # an hour after the bars: every order in the book is past its deadline


@pytest.fixture
def exchange() -> LocalBinance:
    account = SpotAccount(API_KEY, SECRET, {"USDT": CASH, "BNB": Decimal("0.5")})
    made = LocalBinance(Tape.of(BARS), speed=60, account=account)
    made.orders.prices["BTCUSDT"] = PRICE
    return made


@pytest.fixture
def broker(exchange: LocalBinance) -> Iterator[CcxtBroker]:
    with serving(exchange) as rest_url:
        yield CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url, retry=FAST)


@pytest.fixture(params=["sqlite", "dynamodb"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "dynamodb":
        made = dynamodb_stores(request.getfixturevalue("dynamodb"), request.getfixturevalue("tables"), CASH)
    else:
        made = sqlite_stores(tmp_path / "state.sqlite", CASH, 50)
    yield made
    made.close()


def reconciler(stores: Stores, broker: CcxtBroker, **settings: object) -> Reconciler:
    baseline = {"BNB": Decimal("0.5")}  # the user's own BNB, outside STDS
    return Reconciler.of(stores, broker, ReconcileSettings.model_validate({"baseline": baseline, **settings}), [KEY])


def pending(stores: Stores, bar: int, qty: str) -> OrderRequested:
    order = order_requested(KEY, BARS[bar].open_time_ms, qty, price=str(PRICE))
    assert stores.book.decide(Decision(KEY, order.bar_open_time_ms, order.target, order))
    return order


def trade(stores: Stores, broker: CcxtBroker, bar: int, qty: str) -> None:
    execution = ExecutionConsumer(stores.book, broker, RiskPolicy(), stores.kill_switch, Decimal(10))
    (settlement,) = execution.on_order(pending(stores, bar, qty))
    assert isinstance(settlement, OrderFilled)


def test_a_book_that_traded_through_the_broker_agrees_with_the_exchange(stores: Stores, broker: CcxtBroker) -> None:
    trade(stores, broker, 0, "0.01")
    trade(stores, broker, 1, "-0.00999")  # all the account received: 0.01 less the commission in BTC
    result = reconciler(stores, broker).run(NOW_MS)
    assert result.agrees and stores.kill_switch.engaged() is None
    assert {row.asset: row.status for row in result.assets} == {"BNB": "agrees", "BTC": "agrees", "USDT": "agrees"}
    saved = stores.reconciliations.last()
    assert saved is not None and orjson.loads(saved)["problems"] == []


def test_a_manual_trade_on_the_exchange_halts_trading_naming_each_difference(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    trade(stores, broker, 0, "0.01")
    broker.exchange.create_order("BTC/USDT", "market", "buy", "0.002", None, {"newClientOrderId": "by-hand-1"})
    result = reconciler(stores, broker).run(NOW_MS)
    assert not result.agrees
    engaged = stores.kill_switch.engaged()
    assert engaged is not None and engaged.mode == "halt"
    reason = engaged.reason
    assert reason.startswith("reconciliation: ")
    assert "BTC: exchange 0.011988 vs book 0.00999 + baseline 0 (difference +0.001998)" in reason
    assert "USDT: exchange 747.99856 vs book 789.9988 + baseline 0 (difference -42.00024)" in reason
    assert exchange.orders.placed["by-hand-1"] == 1


def test_a_fill_whose_answer_was_lost_is_settled_from_the_exchange_and_then_agrees(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    order = pending(stores, 0, "0.01")
    broker.exchange.create_order("BTC/USDT", "market", "buy", "0.01", None, {"newClientOrderId": order.order_id})
    lost = pending(stores, 1, "0.01")  # ... and one whose request never reached the exchange
    result = reconciler(stores, broker).run(NOW_MS)
    assert result.agrees, result.problems
    fill, refusal = sorted(result.settled, key=lambda s: s.bar_open_time_ms)
    assert isinstance(fill, OrderFilled) and (fill.qty, fill.fee_base) == (Decimal("0.01"), Decimal("0.00001"))
    assert isinstance(refusal, OrderRejected) and refusal.reason.startswith("reconciliation: not on the exchange")
    assert refusal.order_id == lost.order_id
    account = stores.book.account(KEY)
    assert (account.position, account.pending, account.fills, account.rejects) == (Decimal("0.00999"), 0, 1, 1)
    assert exchange.orders.placed[order.order_id] == 1 and lost.order_id not in exchange.orders.placed
    assert not reconciler(stores, broker).run(NOW_MS).settled  # settled once


def test_a_young_pending_order_is_left_to_execution_and_its_assets_are_not_judged(
    stores: Stores, broker: CcxtBroker
) -> None:
    order = pending(stores, 0, "0.01")
    broker.exchange.create_order("BTC/USDT", "market", "buy", "0.01", None, {"newClientOrderId": order.order_id})
    young = order.bar_open_time_ms + 60_000
    result = reconciler(stores, broker).run(young)
    assert result.agrees and result.settled == []
    assert {row.asset: row.status for row in result.assets} == {
        "BNB": "agrees",
        "BTC": "in flight",
        "USDT": "in flight",
    }


def test_a_fee_in_a_third_asset_is_booked_as_that_asset_and_agrees(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    exchange.orders.commission_in = "BNB"
    trade(stores, broker, 0, "0.01")
    trade(stores, broker, 1, "-0.01")
    account = stores.book.account(KEY)
    assert account.position == 0 and account.fee_assets == {
        "BNB": Decimal("0.00105")
    }  # 0.075% of 210.0012 USDT at 300 USDT/BNB, twice
    result = reconciler(stores, broker).run(NOW_MS)
    assert result.agrees, result.problems
    assert exchange.orders.account.balances["BNB"] == Decimal("0.5") - Decimal("0.00105")


def test_a_fee_in_a_third_asset_the_book_did_not_know_is_detected(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    trade(stores, broker, 0, "0.01")
    exchange.orders.account.balances["BNB"] -= Decimal("0.0001")  # e.g. a fee charged outside STDS's orders
    result = reconciler(stores, broker).run(NOW_MS)
    assert result.problems == ["BNB: exchange 0.4999 vs book 0 + baseline 0.5 (difference -0.0001)"]


def test_an_order_left_open_on_the_exchange_halts_with_the_order_named(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    exchange.orders.leave_open_next = 1
    order = pending(stores, 0, "0.01")
    execution = ExecutionConsumer(stores.book, broker, RiskPolicy(), stores.kill_switch, Decimal(10))
    with pytest.raises(OrderStillOpen):
        execution.on_order(order)
    broker.exchange.create_order("BTC/USDT", "market", "buy", "0.001", None, {"newClientOrderId": "by-hand-2"})
    exchange.orders.leave_open_next = 1
    broker.exchange.create_order("BTC/USDT", "market", "buy", "0.001", None, {"newClientOrderId": "by-hand-3"})
    result = reconciler(stores, broker, tolerance="1").run(NOW_MS)  # the hand trade aside: only the open order
    assert result.still_open == [order.order_id]
    assert [o.client_order_id for o in result.foreign_open] == ["by-hand-3"]
    engaged = stores.kill_switch.engaged()
    assert (
        engaged is not None
        and f"order {order.order_id} (buy 0.01 BTC/USDT) still open on the exchange" in engaged.reason
    )
    assert stores.book.account(KEY).pending == Decimal("0.01")  # nothing settled on a guess


def test_an_unreachable_exchange_concludes_nothing_and_halts_nothing(
    stores: Stores, broker: CcxtBroker, exchange: LocalBinance
) -> None:
    from tools.local_exchange.orders import RequestFault

    broker.retry = type(FAST)(base_s=0.01, cap_s=0.01, give_up_after_s=0.1)
    broker.exchange.load_markets()
    exchange.orders.request_faults.extend([RequestFault.UNAVAILABLE] * 1000)
    result = reconciler(stores, broker).run(NOW_MS)
    exchange.orders.request_faults.clear()
    assert result.unreachable is not None and "unreachable for open orders" in result.unreachable
    assert stores.kill_switch.engaged() is None
