"""Deliveries to the Lambda handlers that are not what the rules promise, on DynamoDB Local: each is
refused with a typed error naming the event (Lambda's retries then hand it to the failure destination),
and none changes any state."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.stores.ports import AccountKey, OrderMismatch, UnknownOrder
from events.codec import InvalidEvent, encode
from events.envelope import wrap
from events.minute_batches import batches_of
from infra.aws.handlers import execution, strategy
from tests.conftest import spot_day_bars
from tests.e2e.test_aws_pipeline import aws  # noqa: F401 (the fixture)
from tests.emulators.lambda_poller import ACCOUNT, LambdaContext
from tests.factories import order_requested

YEAR_2100_MS = 4_102_444_800_000
BAR = spot_day_bars(limit=1)[0]
(BATCH,) = batches_of([BAR])
BAR_DELIVERY = {**orjson.loads(encode(wrap(BATCH, BAR.closed_at))), "account": ACCOUNT}
ORDER = order_requested(AccountKey("sma", "binance", "BTC/USDT"), BAR.open_time_ms, "0.05", "22462.58")
ORDER_DELIVERY = {**orjson.loads(encode(wrap(ORDER, BAR.closed_at))), "account": ACCOUNT}
REFUSALS = (InvalidEvent, UnknownOrder, OrderMismatch)


def _state(aws: dict[str, Any]) -> dict[str, int]:  # noqa: F811 (the fixture's value)
    dynamodb, tables = aws["dynamodb"], aws["tables"]
    return {
        role: dynamodb.scan(TableName=getattr(tables, role), Select="COUNT")["Count"]
        for role in ("subaccounts", "orders", "processed")
    }


def _sns(document: Any) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": json.dumps(document)}}]}


@pytest.mark.parametrize(
    "changes",
    [
        {"close": "-5", "low": "-5"},
        {"high": "1", "low": "2"},
        {"open_time_ms": BAR.open_time_ms + 1},
        {"close": "1E+999999", "high": "1E+999999"},
        {"open_time_ms": YEAR_2100_MS},
        {"volume": "-1"},
        {"timeframe": "7m"},
    ],
)
@pytest.mark.parametrize("transport", ["eventbridge", "sns"])
def test_a_delivered_batch_with_a_row_that_cannot_be_a_bar_is_refused_and_stores_nothing(
    aws: dict[str, Any],  # noqa: F811
    changes: dict[str, Any],
    transport: str,
) -> None:
    detail = json.loads(json.dumps(BAR_DELIVERY["detail"]))
    for name, value in changes.items():  # a batch's own field, or one of its row's
        (detail if name in detail else detail["bars"][0])[name] = value
    document = {**BAR_DELIVERY, "detail": detail}
    with pytest.raises(InvalidEvent, match=BAR_DELIVERY["id"]):
        strategy.handler(document if transport == "eventbridge" else _sns(document), LambdaContext("stds-sma"))
    assert _state(aws) == {"subaccounts": 0, "orders": 0, "processed": 0}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery with one field of the envelope or its detail replaced by arbitrary JSON."""
    document = json.loads(json.dumps(delivery))
    if draw(st.booleans()):
        document["detail"][draw(st.sampled_from(sorted(document["detail"])))] = draw(JSON)
    else:
        document[draw(st.sampled_from(sorted(document)))] = draw(JSON)
    return document


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_deliveries_to_either_handler_are_refused_or_handled_never_crash(
    aws: dict[str, Any],  # noqa: F811
    data: st.DataObject,
) -> None:
    use_strategy = data.draw(st.booleans())
    handler, delivery, name = (
        (strategy.handler, BAR_DELIVERY, "stds-sma") if use_strategy else (execution.handler, ORDER_DELIVERY, "x")
    )
    document = data.draw(mutated(delivery) | JSON)
    if data.draw(st.booleans()):
        document = _sns(document)
    before = _state(aws)
    try:
        handler(document, LambdaContext(name))
    except REFUSALS:
        assert _state(aws) == before
