"""CcxtBroker against the local Binance's spot order API: real ccxt, real HTTP on 127.0.0.1, injected faults.

The server's per-client-id count of placed orders is the ground truth: whatever fails on the wire, no
order id may ever be traded twice.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import boto3
import ccxt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.execution.broker import Execution, Refusal
from consumers.execution.ccxt_broker import (
    SECRET_TEMPLATE,
    BrokerUnavailable,
    CcxtBroker,
    Credentials,
    MissingCredentials,
    RetryPolicy,
    credentials_from_environment,
    credentials_from_secrets_manager,
    fees_by_asset,
)
from consumers.stores.ports import AccountKey
from events.models import OrderRequested
from tests.conftest import spot_day_bars
from tests.factories import order_requested
from tools.local_exchange.orders import RequestFault, SpotAccount
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

API_KEY = "k3y-0f-the-local-account"
SECRET = "s3cret-0f-the-local-account"
KEY = AccountKey("sma", "binance", "BTC/USDT")
PRICE = Decimal("21000.12")
FAST = RetryPolicy(base_s=0.01, cap_s=0.05, give_up_after_s=5)
BARS = spot_day_bars(limit=120)
_bar_times = itertools.count(BARS[0].open_time_ms, 60_000)


@contextlib.contextmanager
def serving(exchange: LocalBinance) -> Iterator[str]:
    """The server on its own loop in a thread (the broker is sync); yield its REST URL."""
    with exchange.serving_in_thread() as (_, rest_url):
        yield rest_url


@pytest.fixture
def exchange() -> LocalBinance:
    account = SpotAccount(API_KEY, SECRET, {"USDT": Decimal("1000"), "BTC": Decimal("0.01")})
    made = LocalBinance(Tape.of(BARS), speed=60, account=account)
    made.orders.prices["BTCUSDT"] = PRICE
    return made


@pytest.fixture
def rest_url(exchange: LocalBinance) -> Iterator[str]:
    with serving(exchange) as url:
        yield url


@pytest.fixture
def broker(rest_url: str) -> CcxtBroker:
    return CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url, retry=FAST)


def an_order(qty: str, price: Decimal = PRICE) -> OrderRequested:
    """A fresh order id each call (a new bar), so tests sharing a server never collide."""
    return order_requested(KEY, next(_bar_times), qty, price=str(price))


def test_a_buy_pays_its_commission_in_the_base_asset_received_and_reports_exactly_that(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    outcome = broker.execute(an_order("0.0015"))
    assert outcome == Execution(qty=Decimal("0.0015"), price=PRICE, fee=Decimal(0), fee_base=Decimal("0.0000015"))
    assert all(isinstance(v, Decimal) for v in (outcome.qty, outcome.price, outcome.fee, outcome.fee_base))
    balances = exchange.orders.account.balances
    assert balances["BTC"] == Decimal("0.01") + Decimal("0.0015") - Decimal("0.0000015")
    assert balances["USDT"] == Decimal("1000") - Decimal("31.50018")


def test_a_sell_pays_its_commission_in_the_quote_received(exchange: LocalBinance, broker: CcxtBroker) -> None:
    outcome = broker.execute(order_requested(KEY, next(_bar_times), "-0.005", price=str(PRICE)))
    assert outcome == Execution(qty=Decimal("0.005"), price=PRICE, fee=Decimal("0.1050006"))
    assert exchange.orders.account.balances["USDT"] == Decimal("1000") + Decimal("105.0006") - Decimal("0.1050006")


def test_a_commission_paid_in_bnb_is_reported_in_bnb_and_falls_back_when_bnb_runs_out(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    orders = exchange.orders
    orders.commission_in, orders.bnb_price = "BNB", Decimal("250")
    orders.account.balances["BNB"] = Decimal("0.0001")
    first = broker.execute(an_order("0.001"))  # 21.00012 USDT × 0.075% / 250 = 0.000063 BNB
    assert first == Execution(
        qty=Decimal("0.001"), price=PRICE, fee=Decimal(0), fee_other=(("BNB", Decimal("0.000063")),)
    )
    second = broker.execute(an_order("0.001"))  # 0.000037 BNB left: Binance takes the received asset instead
    assert second == Execution(qty=Decimal("0.001"), price=PRICE, fee=Decimal(0), fee_base=Decimal("0.000001"))
    assert orders.account.balances["BNB"] == Decimal("0.000037")


def test_the_account_endpoint_reports_the_balances_as_exact_strings(broker: CcxtBroker) -> None:
    broker.execute(an_order("0.0015"))
    balance = broker.exchange.fetch_balance()
    assert Decimal(balance["BTC"]["free"]) == Decimal("0.0114985")
    assert Decimal(balance["USDT"]["total"]) == Decimal("968.49982")


def test_without_a_set_price_the_fill_is_at_the_last_bar_closed_by_the_market_clock(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    exchange.orders.prices.clear()
    outcome = broker.execute(an_order("0.001", price=BARS[0].close))
    assert isinstance(outcome, Execution)
    (placed,) = exchange.orders.orders
    closed = [bar for bar in BARS if bar.open_time_ms + 60_000 <= placed.time_ms]
    assert outcome.price == (closed[-1].close if closed else BARS[0].open)
    assert (outcome.fee, outcome.fee_base) == (Decimal(0), Decimal("0.000001"))


def test_executing_the_same_order_again_trades_once_and_reports_the_same_fill(
    exchange: LocalBinance, broker: CcxtBroker, rest_url: str
) -> None:
    order = an_order("0.002")
    first = broker.execute(order)
    again = broker.execute(order)
    elsewhere = CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url).execute(order)  # a new Lambda
    assert first == again == elsewhere
    assert exchange.orders.placed[order.order_id] == 1


def test_sandbox_mode_with_a_rest_url_override_trades_on_the_override(exchange: LocalBinance, rest_url: str) -> None:
    broker = CcxtBroker("binance", Credentials(API_KEY, SECRET), sandbox=True, rest_url=rest_url, retry=FAST)
    assert broker.exchange.isSandboxModeEnabled
    assert broker.exchange.urls["api"]["private"].startswith(rest_url)
    assert isinstance(broker.execute(an_order("0.001")), Execution)
    assert len(exchange.orders.orders) == 1


def test_the_local_exchange_like_binance_takes_a_filled_orders_client_id_again(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    """Why the broker must look up first: sending the same client id blindly trades twice."""
    order = an_order("0.001")
    for _ in range(2):
        broker.exchange.create_order("BTC/USDT", "market", "buy", "0.001", None, {"newClientOrderId": order.order_id})
    assert exchange.orders.placed[order.order_id] == 2


@pytest.mark.parametrize("failure", [RequestFault.DROP, RequestFault.UNAVAILABLE])
def test_an_order_executed_whose_answer_is_lost_is_found_not_sent_again(
    exchange: LocalBinance, broker: CcxtBroker, failure: RequestFault
) -> None:
    exchange.orders.fail_next_after_execute = 1
    exchange.orders.after_execute = failure
    order = an_order("0.0015")
    outcome = broker.execute(order)
    assert outcome == Execution(qty=Decimal("0.0015"), price=PRICE, fee=Decimal(0), fee_base=Decimal("0.0000015"))
    assert exchange.orders.placed[order.order_id] == 1
    assert exchange.orders.fail_next_after_execute == 0  # the fault did fire


def test_throttling_is_waited_out_with_backoff_then_the_order_trades_once(
    exchange: LocalBinance, rest_url: str
) -> None:
    waits: list[float] = []
    broker = CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url, retry=FAST, sleep=waits.append)
    exchange.orders.throttle_next(3)
    order = an_order("0.001")
    outcome = broker.execute(order)
    assert isinstance(outcome, Execution) and outcome.qty == Decimal("0.001")
    assert waits == [0.01, 0.02, 0.04]  # exponential, from the policy's base
    assert exchange.orders.placed[order.order_id] == 1


def test_an_exchange_down_for_too_long_raises_and_a_later_retry_still_trades_once(
    exchange: LocalBinance, rest_url: str
) -> None:
    short = RetryPolicy(base_s=0.01, cap_s=0.02, give_up_after_s=0.2)
    broker = CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url, retry=short)
    order = an_order("0.001")
    # lookup answered, order executed but its answer lost, then the exchange unreachable
    exchange.orders.fail_next_after_execute = 1
    exchange.orders.request_faults.extend([None, None, *[RequestFault.UNAVAILABLE] * 1000])
    with pytest.raises(BrokerUnavailable, match=order.order_id):
        broker.execute(order)
    assert exchange.orders.placed[order.order_id] == 1
    exchange.orders.request_faults.clear()
    assert isinstance(broker.execute(order), Execution)  # the caller's later retry finds it
    assert exchange.orders.placed[order.order_id] == 1


def test_insufficient_funds_is_a_refusal_and_places_nothing(exchange: LocalBinance, broker: CcxtBroker) -> None:
    order = an_order("0.05")  # 1050 USDT with 1000 in the account
    outcome = broker.execute(order)
    assert isinstance(outcome, Refusal) and outcome.reason.startswith("insufficient funds:")
    sell = order_requested(KEY, next(_bar_times), "-0.02", price=str(PRICE))  # 0.01 BTC held
    assert broker.execute(sell) == Refusal(
        "insufficient funds: binance Account has insufficient balance for requested action."
    )
    assert exchange.orders.orders == []


def test_below_minimum_notional_is_refused_before_any_request(exchange: LocalBinance, broker: CcxtBroker) -> None:
    assert broker.execute(an_order("0.0002")) == Refusal("below minimum notional: 4.200024 < 5")
    assert exchange.orders.orders == []


def test_the_exchanges_own_notional_check_is_a_refusal_too(exchange: LocalBinance, broker: CcxtBroker) -> None:
    exchange.orders.prices["BTCUSDT"] = Decimal("1000")  # the market fell since the reference price
    outcome = broker.execute(an_order("0.001"))
    assert outcome == Refusal('BadRequest: binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}')
    assert exchange.orders.orders == []


def test_an_amount_that_rounds_to_nothing_is_an_invalid_order(exchange: LocalBinance, broker: CcxtBroker) -> None:
    outcome = broker.execute(an_order("0.000004", price=Decimal("9000000")))  # step is 0.00001
    assert isinstance(outcome, Refusal) and outcome.reason.startswith("invalid order:")
    assert broker.execute(an_order("20000000", price=Decimal("0.0001"))) == Refusal(
        "above maximum amount: 20000000 > 9000000"
    )
    assert exchange.orders.orders == []


def test_an_amount_is_rounded_down_to_the_lot_step(exchange: LocalBinance, broker: CcxtBroker) -> None:
    outcome = broker.execute(an_order("0.0012345"))
    assert isinstance(outcome, Execution) and outcome.qty == Decimal("0.00123")


def test_a_partial_fill_reports_what_filled_and_a_retry_reports_the_same(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    exchange.orders.liquidity = Decimal("0.001")
    order = an_order("0.003")
    outcome = broker.execute(order)
    assert outcome == Execution(qty=Decimal("0.001"), price=PRICE, fee=Decimal(0), fee_base=Decimal("0.000001"))
    assert exchange.orders.orders[0].status == "EXPIRED"
    assert broker.execute(order) == outcome  # found by lookup: fills read back from myTrades
    assert exchange.orders.placed[order.order_id] == 1


def test_nothing_filled_is_a_refusal(exchange: LocalBinance, broker: CcxtBroker) -> None:
    exchange.orders.liquidity = Decimal(0)
    outcome = broker.execute(an_order("0.001"))
    assert outcome == Refusal("nothing filled: the exchange reports the order expired")


def test_several_fills_average_exactly_and_their_base_asset_fees_add_up_in_the_base_asset(
    exchange: LocalBinance, broker: CcxtBroker
) -> None:
    orders = exchange.orders
    orders.fills_per_order, orders.fill_price_step = 3, Decimal("0.5")
    order = an_order("0.003")
    outcome = broker.execute(order)
    prices = [PRICE, PRICE + Decimal("0.5"), PRICE + 1]
    assert outcome == Execution(
        qty=Decimal("0.003"),
        price=sum(prices, Decimal(0)) / 3,
        fee=Decimal(0),
        fee_base=Decimal("0.000003"),  # 0.1% of each 0.001 BTC fill, in BTC
    )
    assert broker.execute(order) == outcome  # the lookup path (fetch_order + myTrades) agrees
    assert orders.account.balances["BTC"] == Decimal("0.01") + Decimal("0.003") - Decimal("0.000003")


def test_fees_are_summed_per_asset_they_were_paid_in_never_converted() -> None:
    trades: list[Mapping[str, Any]] = [
        {"price": "100", "amount": "1", "fee": {"cost": "0.5", "currency": "BNB"}, "fees": []},
        {"price": "100", "amount": "1", "fee": None, "fees": [{"cost": "0.25", "currency": "BNB"}]},
        {"price": "101", "amount": "1", "fee": {"cost": "0.001", "currency": "BTC"}},
        {"price": "101", "amount": "1", "fee": {"cost": None, "currency": "USDT"}},
    ]
    assert fees_by_asset(trades) == {"BNB": Decimal("0.75"), "BTC": Decimal("0.001")}


def test_a_bad_signature_is_not_mistaken_for_a_refusal(exchange: LocalBinance, rest_url: str) -> None:
    wrong = CcxtBroker("binance", Credentials(API_KEY, "not-the-secret"), rest_url=rest_url, retry=FAST)
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        wrong.execute(an_order("0.001"))
    stranger = CcxtBroker("binance", Credentials("someone-else", SECRET), rest_url=rest_url, retry=FAST)
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        stranger.execute(an_order("0.001"))
    assert exchange.orders.orders == []


def test_credentials_never_reach_logs_reprs_or_errors(
    exchange: LocalBinance, broker: CcxtBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange.orders.fail_next_after_execute = 1
    broker.execute(an_order("0.001"))
    exchange.orders.request_faults.extend([RequestFault.UNAVAILABLE] * 1000)
    short = RetryPolicy(base_s=0.01, cap_s=0.01, give_up_after_s=0.05)
    broker.retry = short
    with pytest.raises(BrokerUnavailable) as raised:
        broker.execute(an_order("0.001"))
    assert "X-MBX-APIKEY" in caplog.text and "/api/v3/order" in caplog.text  # ccxt's wire log was captured
    texts = [caplog.text, repr(broker), str(broker), repr(Credentials(API_KEY, SECRET)), str(raised.value)]
    texts += [repr(exchange.orders.account), f"{Credentials(API_KEY, SECRET)}"]
    assert not [t for t in texts if API_KEY in t or SECRET in t]


def test_credentials_from_the_environment() -> None:
    environ = {"STDS_EXCHANGE_API_KEY": API_KEY, "STDS_EXCHANGE_SECRET": SECRET}
    assert credentials_from_environment(environ) == Credentials(API_KEY, SECRET)
    with pytest.raises(MissingCredentials, match="STDS_EXCHANGE_SECRET"):
        credentials_from_environment({"STDS_EXCHANGE_API_KEY": API_KEY})


def test_credentials_from_secrets_manager(moto_endpoint: str) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_secret(Name="stds/binance", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    client.create_secret(Name="stds/broken", SecretString=f'{{"apiKey": "{API_KEY}", "secret": ')
    assert credentials_from_secrets_manager("stds/binance", client) == Credentials(API_KEY, SECRET)
    with pytest.raises(MissingCredentials) as raised:
        credentials_from_secrets_manager("stds/broken", client)
    assert API_KEY not in str(raised.value) and raised.value.__cause__ is None


def test_the_secret_as_the_stack_creates_it_is_refused_as_keys_not_set(moto_endpoint: str) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_secret(Name="paper-exchange-keys", SecretString=SECRET_TEMPLATE)
    with pytest.raises(MissingCredentials, match=r"^keys not set in secret paper-exchange-keys: put the exchange's"):
        credentials_from_secrets_manager("paper-exchange-keys", client)


FAULT_SCRIPTS = st.tuples(
    st.lists(st.sampled_from([None, *RequestFault]), max_size=8),  # per signed request, from the first lookup
    st.integers(min_value=0, max_value=2),  # placements that execute but whose answer is lost ...
    st.sampled_from([RequestFault.DROP, RequestFault.UNAVAILABLE]),  # ... this way
    st.integers(min_value=1, max_value=3),  # times the same order is executed
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=FAULT_SCRIPTS)
def test_any_faults_at_most_one_order_per_id_and_every_call_reports_it(
    exchange: LocalBinance, rest_url: str, script: tuple[list[RequestFault | None], int, RequestFault, int]
) -> None:
    before, lose_answers, lost_how, calls = script
    orders = exchange.orders
    orders.account.balances["USDT"] = Decimal("1000")
    orders.request_faults.extend(before)
    orders.fail_next_after_execute, orders.after_execute = lose_answers, lost_how
    broker = CcxtBroker("binance", Credentials(API_KEY, SECRET), rest_url=rest_url, retry=FAST, sleep=lambda _: None)
    broker.exchange.enableRateLimit = False  # ccxt's 50 ms/request pacing is not under test here
    order = an_order("0.001")
    outcomes = {broker.execute(order) for _ in range(calls)}
    assert outcomes == {Execution(qty=Decimal("0.001"), price=PRICE, fee=Decimal(0), fee_base=Decimal("0.000001"))}
    assert orders.placed[order.order_id] == 1
    orders.request_faults.clear()
    orders.fail_next_after_execute = 0
