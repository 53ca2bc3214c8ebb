"""orjson codec: envelopes to and from JSON bytes, validating everything that arrives from outside."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from events.envelope import Envelope
from events.models import EVENT_TYPES, Event


class InvalidEvent(ValueError):
    """An event that cannot be decoded; the message names where it came from and what is wrong."""


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.to_json_dict())


def decode(raw: bytes | str, origin: str = "event") -> Envelope:
    """Parse JSON bytes into a typed envelope; `origin` (file:line, stream, queue) goes into any error."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidEvent(f"{origin}: not JSON ({error})") from None
    return from_dict(document, origin)


def from_dict(document: Any, origin: str = "event") -> Envelope:
    """Validate an EventBridge-shaped dict (as Lambda receives it) into an envelope with a typed detail."""
    if not isinstance(document, dict):
        raise InvalidEvent(f"{origin}: expected a JSON object, got {type(document).__name__}")
    event_id = document.get("id", "?")
    detail_type = document.get("detail-type")
    model = EVENT_TYPES.get(detail_type) if isinstance(detail_type, str) else None
    if model is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidEvent(f"{origin}: event {event_id}: unknown detail-type {detail_type!r} (known: {known})")
    try:
        detail = model.model_validate(document.get("detail"))
        return Envelope.model_validate({**document, "detail": detail})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'detail'}: {issue['msg']}" for issue in error.errors()
        )
        raise InvalidEvent(f"{origin}: event {event_id} ({detail_type}): {problems}") from None


def detail_from_dict(detail_type: str, detail: Any, origin: str = "event") -> Event:
    """Validate just a detail, for transports (SNS, SQS) that carry the type beside the body."""
    model = EVENT_TYPES.get(detail_type)
    if model is None:
        raise InvalidEvent(f"{origin}: unknown detail-type {detail_type!r}")
    try:
        return model.model_validate(detail)
    except ValidationError as error:
        raise InvalidEvent(f"{origin}: {detail_type}: {describe_errors(error)}") from None


def describe_errors(error: ValidationError, prefix: str = "") -> str:
    """`detail.close: Input should be a valid decimal; ...`: each problem with the path to it."""
    problems = []
    for issue in error.errors():
        where = ".".join(str(part) for part in (prefix, *issue["loc"]) if part != "")
        message = issue["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
