"""stds dlq on moto's SQS and EventBridge: what lands in the failure queues is listed with where and why it
failed, and a redrive publishes the same events (same detail ids, so consumers see duplicates they ignore)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from events.envelope import wrap
from events.eventbridge_bus import EventBridgeBus
from events.models import BarClosed
from infra.aws.failed_events import read_queue, redrive
from tests.conftest import spot_day_bars
from tests.emulators.aws import client, drain, envelopes_in, queue_behind_rule

FUNCTION_ARN = "arn:aws:lambda:ap-northeast-1:123456789012:function:stds-strategy-sma_btc"
RULE_ARN = "arn:aws:events:ap-northeast-1:123456789012:rule/stds-bus/StrategySmaBtcRule"


def lambda_failure_record(invocation: dict[str, Any], error: str) -> dict[str, Any]:
    """What Lambda sends an async invocation's on-failure destination once its retries are spent."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()), "functionArn": f"{FUNCTION_ARN}:$LATEST",
            "condition": "RetriesExhausted", "approximateInvokeCount": 3,
        },
        "requestPayload": invocation,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": error, "errorType": "ClientError", "stackTrace": []},
    }  # fmt: skip


@pytest.fixture
def wired(moto_endpoint: str) -> dict[str, Any]:
    """A bus with a subscriber queue, and the two failure queues holding events as EventBridge delivered them."""
    name = f"bus-{uuid.uuid4().hex[:8]}"
    client("events", moto_endpoint).create_event_bus(Name=name)
    subscriber = queue_behind_rule(moto_endpoint, name, "bars", {"detail-type": ["BarClosed"]})
    bus = EventBridgeBus(client("events", moto_endpoint), name)
    bars = spot_day_bars(3)
    bus.publish([wrap(bar) for bar in bars])
    delivered = drain(moto_endpoint, subscriber)  # real EventBridge-shaped events, as a rule hands them on
    assert len(delivered) == 3
    sqs = client("sqs", moto_endpoint)
    failed = sqs.create_queue(QueueName=f"{name}-failed")["QueueUrl"]
    undelivered = sqs.create_queue(QueueName=f"{name}-undelivered")["QueueUrl"]
    record = lambda_failure_record(delivered[0], "An error occurred (ThrottlingException) when calling Query")
    notification = {"MessageId": "m-1", "Message": orjson.dumps(delivered[1]).decode()}
    sns_invocation = {"Records": [{"EventSource": "aws:sns", "Sns": notification}]}
    sqs.send_message(QueueUrl=failed, MessageBody=orjson.dumps(record).decode())
    sqs.send_message(QueueUrl=failed, MessageBody=orjson.dumps(lambda_failure_record(sns_invocation, "boom")).decode())
    sqs.send_message(QueueUrl=failed, MessageBody='{"requestContext": {}, "requestPayload": "not an event"}')
    sqs.send_message(
        QueueUrl=undelivered, MessageBody=orjson.dumps(delivered[2]).decode(),
        MessageAttributes={
            "RULE_ARN": {"DataType": "String", "StringValue": RULE_ARN},
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Rate Exceeded."},
        },
    )  # fmt: skip
    return {
        "sqs": sqs,
        "bus": bus,
        "bars": bars,
        "subscriber": subscriber,
        "failed": failed,
        "undelivered": undelivered,
    }


def test_list_shows_each_event_with_where_and_why_it_failed_and_leaves_the_queues_as_they_were(
    wired: dict[str, Any],
) -> None:
    sqs, bars = wired["sqs"], wired["bars"]
    failed = read_queue(sqs, wired["failed"], "failed invocations")
    undelivered = read_queue(sqs, wired["undelivered"], "undelivered")
    lines = sorted(message.line() for message in [*failed, *undelivered])
    assert lines[0] == "failed invocations: ?: ? | unreadable: the record carries no invocation payload"
    assert lines[1] == (
        f"failed invocations: {FUNCTION_ARN}:$LATEST: RetriesExhausted after 3 attempts: An error occurred "
        f"(ThrottlingException) when calling Query | BarClosed {bars[0].event_id}"
    )
    assert lines[2] == (
        f"failed invocations: {FUNCTION_ARN}:$LATEST: RetriesExhausted after 3 attempts: boom | "
        f"BarClosed {bars[1].event_id}"
    )
    assert lines[3] == f"undelivered: {RULE_ARN}: SDK_CLIENT_ERROR: Rate Exceeded. | BarClosed {bars[2].event_id}"
    assert len(read_queue(sqs, wired["failed"], "failed invocations")) == 3  # listing deleted nothing


def test_redrive_publishes_the_same_events_again_and_empties_the_queues_but_keeps_what_it_cannot_read(
    wired: dict[str, Any], moto_endpoint: str
) -> None:
    sqs, bus = wired["sqs"], wired["bus"]
    done = redrive(sqs, wired["failed"], "failed invocations", bus)
    assert done.republished == 2 and [m.unreadable.startswith("unreadable") for m in done.kept] == [True]
    assert redrive(sqs, wired["undelivered"], "undelivered", bus).republished == 1
    again = envelopes_in(moto_endpoint, wired["subscriber"])
    details = sorted((e.detail for e in again), key=lambda bar: bar.open_time_ms)
    assert all(isinstance(d, BarClosed) for d in details)
    assert details == wired["bars"]  # the same bars, with the same deterministic event ids
    assert read_queue(sqs, wired["undelivered"], "undelivered") == []
    (left,) = read_queue(sqs, wired["failed"], "failed invocations")
    assert left.unreadable  # an unreadable message is never deleted: a person must look at it
