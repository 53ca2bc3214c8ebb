"""Reading one EventBridge delivery: the typed detail (powertools parser) and the event's own time."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser import envelopes, parse

from events.models import Event

Detail = TypeVar("Detail", bound=Event)


class NotThisEvent(ValueError):
    """The delivery carries no detail of the expected type: a rule or target is misconfigured."""


def detail_of(event: dict[str, Any], model: type[Detail]) -> Detail:
    """Validate the delivery's `detail` into `model`; a bad one raises pydantic's error naming the field."""
    detail = parse(event=event, model=model, envelope=envelopes.EventBridgeEnvelope)
    if not isinstance(detail, model):
        raise NotThisEvent(f"event {event.get('id')}: expected a {model.__name__} detail, got {type(detail).__name__}")
    return detail


def time_of(event: dict[str, Any]) -> datetime:
    """The moment the delivered fact became true; the events it causes carry the same time, as locally."""
    return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
