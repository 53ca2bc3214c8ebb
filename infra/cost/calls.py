"""What the AWS calls of a run will be billed, counted from the requests themselves (botocore event hooks).

Emulators do not bill: DynamoDB Local reports capacity by its own rules (a one-item transaction as 4 units,
a refused conditional write as none), so units are computed here from AWS's published rounding rules on
the requests and answers: a write is 1 unit per started KB (refused conditional writes included), a
transactional write 2; a strongly consistent read 1 unit per started 4 KB of what it returns (at least 1,
also for a missing item), an eventually consistent one half. A query is sized by the items it returns,
which undercounts a projection (billed on whole items); the items here are far under 4 KB, so it does not
change a unit. An event published to EventBridge or SNS is billed per started 64 KB chunk.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from events.eventbridge_bus import entry_size

KB = 1024
CHUNK_BYTES = 64 * KB
_WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
_READS = {"GetItem", "Query", "Scan"}


@dataclass(frozen=True)
class CallCounts:
    requests: Counter[str] = field(default_factory=Counter)  # "dynamodb.PutItem" → calls
    published_events: int = 0  # PutEvents entries and SNS messages
    published_chunks: int = 0  # the 64 KB chunks they are billed as
    write_units: Decimal = Decimal(0)
    read_units: Decimal = Decimal(0)

    def __sub__(self, earlier: CallCounts) -> CallCounts:
        return CallCounts(
            self.requests - earlier.requests,
            self.published_events - earlier.published_events,
            self.published_chunks - earlier.published_chunks,
            self.write_units - earlier.write_units,
            self.read_units - earlier.read_units,
        )


class CallCounter:
    """Attach to botocore clients; `counts` is the running total of everything they sent."""

    def __init__(self) -> None:
        self.counts = CallCounts()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        """Count this client's calls (attaching the same client twice counts it once)."""
        events = client.meta.events
        events.register("provide-client-params", self._on_request, unique_id=f"stds-calls-request-{id(self)}")
        events.register("after-call.dynamodb", self._on_dynamodb_answer, unique_id=f"stds-calls-answer-{id(self)}")

    def _on_request(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        context["stds_consistent_read"] = bool(params.get("ConsistentRead"))
        published, chunks, writes = 0, 0, Decimal(0)
        if (service, operation) == ("events", "PutEvents"):
            sizes = [entry_size(entry) for entry in params.get("Entries", [])]
            published, chunks = len(sizes), sum(_chunks(size) for size in sizes)
        elif service == "sns" and operation in {"Publish", "PublishBatch"}:
            messages = params.get("PublishBatchRequestEntries") or [params]
            sizes = [len(str(message.get("Message", "")).encode()) for message in messages]
            published, chunks = len(sizes), sum(_chunks(size) for size in sizes)
        elif service == "dynamodb":
            writes = _write_units(operation, params)
        with self._lock:
            counts = self.counts
            self.counts = replace(
                counts,
                requests=counts.requests + Counter({f"{service}.{operation}": 1}),
                published_events=counts.published_events + published,
                published_chunks=counts.published_chunks + chunks,
                write_units=counts.write_units + writes,
            )

    def _on_dynamodb_answer(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name not in _READS:
            return
        returned = [parsed["Item"]] if "Item" in parsed else parsed.get("Items", [])
        units = Decimal(max(1, math.ceil(sum(map(item_size, returned)) / (4 * KB))))
        if not context.get("stds_consistent_read"):
            units /= 2
        with self._lock:
            self.counts = replace(self.counts, read_units=self.counts.read_units + units)


def _chunks(size: int) -> int:
    return max(1, math.ceil(size / CHUNK_BYTES))


def _write_units(operation: str, params: dict[str, Any]) -> Decimal:
    if operation in _WRITES:
        return Decimal(max(1, math.ceil(item_size(params.get("Item") or params.get("Key") or {}) / KB)))
    if operation == "TransactWriteItems":
        units = 0
        for action in params.get("TransactItems", []):
            [(_, request)] = action.items()
            units += 2 * max(1, math.ceil(item_size(request.get("Item") or request.get("Key") or {}) / KB))
        return Decimal(units)
    if operation == "BatchWriteItem":
        requests = [r for table in params.get("RequestItems", {}).values() for r in table]
        return Decimal(sum(max(1, math.ceil(item_size(_batched_item(r)) / KB)) for r in requests))
    return Decimal(0)


def _batched_item(request: dict[str, Any]) -> dict[str, Any]:
    if "PutRequest" in request:
        return dict(request["PutRequest"]["Item"])
    return dict(request["DeleteRequest"]["Key"])


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers ~1 byte per 2 digits)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    [(kind, content)] = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return (len(str(content).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(content)
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_size(v) for v in content)
    return sum(len(str(element).encode()) for element in content)  # SS, NS, BS
