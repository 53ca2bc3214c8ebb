"""The bus on AWS: Amazon EventBridge `PutEvents`, in batches of at most 10 entries and 256 KB."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from events.batching import Limits, RetryPolicy, deliver
from events.envelope import Envelope

PUT_EVENTS = Limits(max_entries=10, max_bytes=256 * 1024)


def entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's own rule: Time counts 14 bytes; Source, DetailType, Detail, Resources in UTF-8."""
    size = 14 if "Time" in entry else 0
    size += sum(len(str(entry[name]).encode()) for name in ("Source", "DetailType", "Detail") if name in entry)
    return size + sum(len(resource.encode()) for resource in entry.get("Resources", []))


class EventBridgeBus:
    """Publishes envelopes to one event bus. EventBridge assigns its own envelope ids, so consumers
    key idempotency on the detail's deterministic `event_id`, which travels in `Detail`.

    `trace_header` picks the envelopes that start an X-Ray trace (an entry's `TraceHeader`); targets in
    PassThrough mode trace only those."""

    def __init__(
        self,
        client: Any,
        bus_name: str,
        retry: RetryPolicy | None = None,
        trace_header: Callable[[Envelope], str | None] | None = None,
    ) -> None:
        self.client = client
        self.bus_name = bus_name
        self.retry = retry or RetryPolicy()
        self.trace_header = trace_header

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        entries = [self._entry(envelope) for envelope in envelopes]
        deliver(
            envelopes,
            entries,
            sizes=[entry_size(e) for e in entries],
            limits=PUT_EVENTS,
            send=self._send,
            retry=self.retry,
        )

    def _entry(self, envelope: Envelope) -> dict[str, Any]:
        detail = orjson.dumps(envelope.detail.model_dump(mode="json")).decode()
        entry = {
            "Time": envelope.time,
            "Source": envelope.source,
            "DetailType": envelope.detail_type,
            "Detail": detail,
            "EventBusName": self.bus_name,
        }
        if self.trace_header is not None and (header := self.trace_header(envelope)) is not None:
            entry["TraceHeader"] = header
        return entry

    def _send(self, batch: list[dict[str, Any]]) -> list[tuple[int, str]]:
        answer = self.client.put_events(Entries=batch)
        if not answer.get("FailedEntryCount"):
            return []
        return [
            (n, f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}")
            for n, result in enumerate(answer["Entries"])
            if result.get("ErrorCode")
        ]
