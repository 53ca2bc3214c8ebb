"""The bus as Amazon SNS: `PublishBatch` with the envelope as the message and attributes to filter on.

Subscribers select with filter policies on `detail_type`, `exchange`, `symbol`, `timeframe` and
`strategy` (whichever the event has; a `BarsClosed` batch carries its symbols as a `String.Array`).
A FIFO topic (name ending `.fifo`) keeps order per stream or per sub-account (the message group) and
drops repeats by the detail's deterministic id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from events.batching import Limits, RetryPolicy, deliver
from events.codec import encode
from events.envelope import Envelope
from events.models import BarsClosed

PUBLISH_BATCH = Limits(max_entries=10, max_bytes=256 * 1024)
FILTER_ATTRIBUTES = ("exchange", "symbol", "timeframe", "strategy")


def message_attributes(envelope: Envelope) -> dict[str, dict[str, str]]:
    attributes = {"detail_type": {"DataType": "String", "StringValue": envelope.detail_type}}
    for name in FILTER_ATTRIBUTES:
        value = getattr(envelope.detail, name, None)
        if isinstance(value, str):
            attributes[name] = {"DataType": "String", "StringValue": value}
    if isinstance(envelope.detail, BarsClosed):  # a filter policy on `symbol` matches any element of an array
        symbols = orjson.dumps(envelope.detail.symbols).decode()
        attributes["symbol"] = {"DataType": "String.Array", "StringValue": symbols}
    return attributes


def message_group(envelope: Envelope) -> str:
    """Order matters per bar stream and per sub-account; unrelated groups go in parallel."""
    detail = envelope.detail
    parts = [getattr(detail, name, "") for name in ("strategy", "exchange", "symbol", "timeframe")]
    return "|".join(str(part) for part in parts if part)[:128]


def entry_size(entry: dict[str, Any]) -> int:
    """SNS counts the message and every attribute's name, type and value."""
    size = len(entry["Message"].encode())
    for name, attribute in entry["MessageAttributes"].items():
        size += len(name.encode()) + len(attribute["DataType"].encode()) + len(attribute["StringValue"].encode())
    return size


class SnsBus:
    def __init__(self, client: Any, topic_arn: str, retry: RetryPolicy | None = None) -> None:
        self.client = client
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")
        self.retry = retry or RetryPolicy()

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        entries = [self._entry(n, envelope) for n, envelope in enumerate(envelopes)]
        deliver(
            envelopes,
            entries,
            sizes=[entry_size(e) for e in entries],
            limits=PUBLISH_BATCH,
            send=self._send,
            retry=self.retry,
        )

    def _entry(self, n: int, envelope: Envelope) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": str(n),
            "Message": encode(envelope).decode(),
            "MessageAttributes": message_attributes(envelope),
        }
        if self.fifo:
            entry["MessageGroupId"] = message_group(envelope)
            # ids are deterministic per fact; hashed because SNS allows 128 characters of a limited set
            entry["MessageDeduplicationId"] = hashlib.sha256(envelope.detail.event_id.encode()).hexdigest()
        return entry

    def _send(self, batch: list[dict[str, Any]]) -> list[tuple[int, str]]:
        positions = {entry["Id"]: n for n, entry in enumerate(batch)}
        answer = self.client.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=batch)
        return [
            (positions[failure["Id"]], f"{failure.get('Code')}: {failure.get('Message', '')}")
            for failure in answer.get("Failed", [])
        ]
