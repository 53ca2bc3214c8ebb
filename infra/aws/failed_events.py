"""`stds dlq list|redrive`: what landed in a deployment's failure queues, and publishing it on the bus again.

Two shapes arrive (infra/cdk/watch.py): Lambda's on-failure record (the invocation's payload, which is an
EventBridge event or SNS records, with the error) and a bus dead letter (the event itself from EventBridge,
or the SNS notification). Either way the events inside are envelopes. A redrive publishes them through the
bus adapter, so every subscriber gets them again: the deterministic ids in the detail make that a no-op for
consumers that had already handled them. A message is deleted only after its events were accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from events.bus import Bus
from events.codec import InvalidEvent, from_dict
from events.envelope import Envelope
from infra.aws.handlers.delivery import deliveries

VISIBILITY_S = 60  # a listed message is hidden this long from other readers, then shown again


@dataclass(frozen=True)
class FailedMessage:
    queue: str  # which queue: "failed invocations" or "undelivered"
    receipt_handle: str
    where: str  # the function or rule it failed at
    reason: str
    events: tuple[Envelope, ...]
    unreadable: str = ""  # why its events could not be read back (then it is never deleted)

    def line(self) -> str:
        what = ", ".join(f"{e.detail_type} {getattr(e.detail, 'event_id', e.id)}" for e in self.events)
        return f"{self.queue}: {self.where}: {self.reason} | {what or self.unreadable}"


@dataclass(frozen=True)
class Redriven:
    republished: int
    kept: list[FailedMessage]


def read_queue(sqs: Any, queue_url: str, queue: str, limit: int = 1000) -> list[FailedMessage]:
    """Every message on the queue (up to `limit`), hidden from others while read, then made visible again."""
    found = list(_receive(sqs, queue_url, queue, limit))
    for message in found:
        _show_again(sqs, queue_url, message)
    return found


def _show_again(sqs: Any, queue_url: str, message: FailedMessage) -> None:
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0)


def redrive(sqs: Any, queue_url: str, queue: str, bus: Bus, limit: int = 1000) -> Redriven:
    republished, kept = 0, []
    for message in _receive(sqs, queue_url, queue, limit):
        if message.unreadable:
            kept.append(message)
            continue
        bus.publish(list(message.events))  # raises Undelivered if the bus refuses: the message stays
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle)
        republished += len(message.events)
    for message in kept:  # only now: shown again at once, it would be received again in the loop above
        _show_again(sqs, queue_url, message)
    return Redriven(republished, kept)


def _receive(sqs: Any, queue_url: str, queue: str, limit: int) -> Iterator[FailedMessage]:
    seen = 0
    while seen < limit:
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - seen),
            VisibilityTimeout=VISIBILITY_S,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return
        for message in messages:
            seen += 1
            yield parse(message, queue)


def parse(message: dict[str, Any], queue: str) -> FailedMessage:
    attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    base = {"queue": queue, "receipt_handle": message["ReceiptHandle"]}
    try:
        body = orjson.loads(message["Body"])
        if not isinstance(body, dict):
            raise InvalidEvent("the body is not a JSON object")
        if "requestContext" in body:  # Lambda's on-failure record
            context, response = body["requestContext"], body.get("responsePayload") or {}
            where, reason = context.get("functionArn", "?"), _lambda_reason(context, response)
            payload = body.get("requestPayload")
            if not isinstance(payload, dict):
                raise InvalidEvent("the record carries no invocation payload")
            raw = deliveries(payload)
        else:  # a bus dead letter: the EventBridge event, or the SNS notification around the envelope
            where = attributes.get("RULE_ARN") or attributes.get("TARGET_ARN") or "bus delivery"
            reason = f"{attributes.get('ERROR_CODE', 'not delivered')}: {attributes.get('ERROR_MESSAGE', '')}"
            message_text = body.get("Message")
            raw = [orjson.loads(message_text)] if isinstance(message_text, str) else [body]
        events = tuple(from_dict(item, origin=f"{queue} message {message['MessageId']}") for item in raw)
    except (InvalidEvent, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        return FailedMessage(**base, where="?", reason="?", events=(), unreadable=f"unreadable: {error}")
    return FailedMessage(**base, where=where, reason=reason.strip(), events=events)


def _lambda_reason(context: dict[str, Any], response: Any) -> str:
    condition = context.get("condition", "failed")
    if isinstance(response, dict) and response.get("errorMessage"):
        return f"{condition} after {context.get('approximateInvokeCount', '?')} attempts: {response['errorMessage']}"
    return str(condition)
