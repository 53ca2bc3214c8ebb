"""Reading a delivery (EventBridge, or SNS records) into the typed pydantic events.

This is the codec every consumer uses (events/codec.py): it validates the whole EventBridge envelope
(version, id, detail-type, source, account, time, region, resources) and the detail, and its errors
name the event id and the field. Powertools' parser with its EventBridgeEnvelope does the same job,
but importing it loads every one of its envelopes: 28 ms of cold start a strategy function cannot spare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from events.codec import InvalidEvent, from_dict
from events.envelope import Envelope
from events.models import Event

Detail = TypeVar("Detail", bound=Event)


def deliveries(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The envelopes one invocation carries: an EventBridge event is one; an SNS invocation has records
    whose messages are envelopes (the SNS bus publishes the whole envelope as the message)."""
    if not isinstance(event, dict):
        raise InvalidEvent(
            f"the invocation's event is a {type(event).__name__}, not an EventBridge event or SNS records"
        )
    records = event.get("Records")
    if not isinstance(records, list):
        return [event]
    found = []
    for n, record in enumerate(records):
        notification = record.get("Sns") if isinstance(record, dict) else None
        message = notification.get("Message") if isinstance(notification, dict) else None
        if not isinstance(notification, dict) or not isinstance(message, str):
            raise InvalidEvent(f"record {n} of the invocation is not an SNS notification with a message")
        try:
            found.append(orjson.loads(message))
        except orjson.JSONDecodeError as error:
            raise InvalidEvent(f"SNS message {notification.get('MessageId', '?')}: not JSON ({error})") from None
    return found


def handle_each(event: dict[str, Any], on_delivery: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Run `on_delivery` on every envelope of the invocation; its result, or all of them if several."""
    results = [on_delivery(delivery) for delivery in deliveries(event)]
    return results[0] if len(results) == 1 else {"deliveries": results}


def detail_of(event: Any, model: type[Detail]) -> tuple[Detail, Envelope]:
    """The delivery's detail as `model`, with its envelope; `InvalidEvent` says what is wrong and where."""
    event_id = event.get("id", "?") if isinstance(event, dict) else "?"
    envelope = from_dict(event, origin=f"EventBridge delivery {event_id}")
    detail = envelope.detail
    if not isinstance(detail, model):
        raise InvalidEvent(
            f"event {envelope.id}: expected {model.__name__}, got {envelope.detail_type}: the rule's pattern or "
            "target is wrong"
        )
    return detail, envelope
