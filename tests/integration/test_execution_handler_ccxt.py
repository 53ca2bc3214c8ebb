"""The execution Lambda configured for a real exchange: keys from Secrets Manager (moto's server), orders
through ccxt to the local Binance, holdings in DynamoDB Local. A redelivered order trades once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from consumers.stores.dynamodb import DynamoBook, TableNames, create_tables
from consumers.stores.ports import AccountKey, Decision
from events.envelope import time_of_ms, wrap
from events.models import OrderFilled
from infra.aws.handlers import execution
from infra.local_exchange.orders import SpotAccount
from infra.local_exchange.server import LocalBinance
from infra.local_exchange.tape import Tape
from tests.conftest import spot_day_bars
from tests.emulators.aws import client
from tests.emulators.lambda_poller import ACCOUNT, LambdaContext
from tests.factories import order_requested
from tests.integration.test_ccxt_broker import API_KEY, SECRET, serving

KEY = AccountKey("sma", "binance", "BTC/USDT")


@pytest.fixture
def exchange() -> Iterator[tuple[LocalBinance, str]]:
    local = LocalBinance(Tape.of(spot_day_bars(limit=60)), speed=60, account=SpotAccount(API_KEY, SECRET))
    local.orders.prices["BTCUSDT"] = Decimal("22700.5")
    with serving(local) as rest_url:
        yield local, rest_url


def test_an_order_trades_once_through_ccxt_with_keys_from_secrets_manager(  # noqa: PLR0917 - pytest fixtures
    exchange: tuple[LocalBinance, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    dynamodb: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    local, rest_url = exchange
    config = tmp_path / "strategies.toml"
    config.write_text('[strategies]\nsma = { use = "sma_cross", params = { qty = "0.002" } }\n')
    tables = TableNames.with_prefix(f"x{uuid.uuid4().hex[:8]}-")
    create_tables(dynamodb, tables)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    secrets.create_secret(Name="stds/binance-test", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    client("events", moto_endpoint).create_event_bus(Name="ccxt-bus")
    for name, value in {
        "STDS_CONFIG": str(config), "STDS_TABLE_PREFIX": tables.bars.removesuffix("bars"), "STDS_EVENT_BUS": "ccxt-bus",
        "STDS_BROKER": "ccxt", "STDS_EXCHANGE_SECRET_ID": "stds/binance-test", "STDS_EXCHANGE_REST_URL": rest_url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint, "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
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
