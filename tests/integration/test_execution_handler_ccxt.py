"""The execution and reconciliation Lambdas configured for a real exchange: keys from Secrets Manager (moto's
server), orders through ccxt to the local Binance, holdings in DynamoDB Local. A redelivered order trades once;
a fill whose answer was lost is settled by the scheduled reconciliation, a hand trade halts trading."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from consumers.stores.dynamodb import DynamoBook, DynamoKillSwitch, TableNames, create_tables
from consumers.stores.ports import AccountKey, Decision
from events.envelope import time_of_ms, wrap
from events.models import OrderFilled
from infra.aws.handlers import execution, reconciliation
from tests.conftest import spot_day_bars
from tests.emulators.aws import client
from tests.emulators.lambda_poller import ACCOUNT, LambdaContext
from tests.factories import order_requested
from tests.integration.test_ccxt_broker import API_KEY, SECRET, serving
from tools.local_exchange.orders import SpotAccount
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

KEY = AccountKey("sma", "binance", "BTC/USDT")


@pytest.fixture
def exchange() -> Iterator[tuple[LocalBinance, str]]:
    local = LocalBinance(Tape.of(spot_day_bars(limit=60)), speed=60, account=SpotAccount(API_KEY, SECRET))
    local.orders.prices["BTCUSDT"] = Decimal("22700.5")
    with serving(local) as rest_url:
        yield local, rest_url


@pytest.fixture
def lambda_tables(  # noqa: PLR0917 - pytest fixtures
    exchange: tuple[LocalBinance, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    dynamodb: Any,
) -> TableNames:
    """A Lambda environment trading through ccxt on the local Binance: keys in moto's Secrets Manager,
    fresh tables in DynamoDB Local, a bus on moto's EventBridge."""
    _, rest_url = exchange
    config = tmp_path / "strategies.toml"
    config.write_text('[strategies]\nsma = { use = "sma_cross", symbols = ["BTC/USDT"], params = { qty = "0.002" } }\n')
    names = TableNames.with_prefix(f"x{uuid.uuid4().hex[:8]}-")
    create_tables(dynamodb, names)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    secret_id = f"stds/binance-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=secret_id, SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    client("events", moto_endpoint).create_event_bus(Name=f"ccxt-bus-{names.orders[:9]}")
    for name, value in {
        "STDS_CONFIG": str(config), "STDS_TABLE_PREFIX": names.orders.removesuffix("orders"),
        "STDS_EVENT_BUS": f"ccxt-bus-{names.orders[:9]}", "STDS_BROKER": "ccxt", "STDS_EXCHANGE_SECRET_ID": secret_id,
        "STDS_EXCHANGE_REST_URL": rest_url, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return names


def test_an_order_trades_once_through_ccxt_with_keys_from_secrets_manager(
    exchange: tuple[LocalBinance, str], lambda_tables: TableNames, dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    local, _ = exchange
    tables = lambda_tables
    execution.app.cache_clear()
    order = order_requested(KEY, spot_day_bars(limit=1)[0].open_time_ms, "0.002", price="22700")
    DynamoBook(dynamodb, tables, Decimal(100_000)).decide(Decision(KEY, order.bar_open_time_ms, order.qty, order))
    delivery = {**wrap(order, time_of_ms(order.bar_open_time_ms + 60_000)).to_json_dict(), "account": ACCOUNT}
    try:
        first = execution.handler(delivery, LambdaContext("stds-execution"))
        again = execution.handler(delivery, LambdaContext("stds-execution"))  # a Lambda retry
    finally:
        execution.app.cache_clear()
    assert first == {"order": order.order_id, "outcome": "OrderFilled"}
    assert again == {"order": order.order_id, "outcome": "already handled"}
    assert local.orders.placed[order.order_id] == 1
    record = DynamoBook(dynamodb, tables, Decimal(100_000)).order(order.order_id)
    assert record is not None and isinstance(record.settlement, OrderFilled)
    assert record.settlement.price == Decimal("22700.5") and record.settlement.qty == Decimal("0.002")
    assert SECRET not in caplog.text and API_KEY not in caplog.text


def test_the_scheduled_reconciliation_settles_a_lost_fill_then_halts_on_a_hand_trade(
    exchange: tuple[LocalBinance, str], lambda_tables: TableNames, dynamodb: Any
) -> None:
    local, _ = exchange
    book = DynamoBook(dynamodb, lambda_tables, Decimal(100_000))
    order = order_requested(KEY, spot_day_bars(limit=1)[0].open_time_ms, "0.002", price="22700")
    book.decide(Decision(KEY, order.bar_open_time_ms, order.qty, order))
    local.orders._execute("BTCUSDT", "BUY", Decimal("0.002"), order.order_id)  # executed; its answer never came
    reconciliation.app.cache_clear()
    try:
        settled = reconciliation.handler({}, LambdaContext("stds-reconciliation"))
        local.orders.account.balances["BTC"] += Decimal("0.001")  # bought by hand
        halted = reconciliation.handler({}, LambdaContext("stds-reconciliation"))
    finally:
        reconciliation.app.cache_clear()
    assert settled == {"agrees": True, "settled": 1, "problems": [], "unreachable": None}
    record = book.order(order.order_id)
    assert record is not None and isinstance(record.settlement, OrderFilled)
    assert book.account(KEY).position == Decimal("0.002") - Decimal("0.000002")  # the commission, in BTC
    assert halted["problems"] == ["BTC: exchange 0.002998 vs book 0.001998 + baseline 0 (difference +0.001)"]
    engaged = DynamoKillSwitch(dynamodb, lambda_tables.control).engaged()
    assert engaged is not None and (engaged.mode, engaged.reason) == (
        "halt",
        "reconciliation: " + halted["problems"][0],
    )
