"""Sampled tracing from the head: one batch every N minutes carries an X-Ray trace header, the rest none."""

from __future__ import annotations

import re
import uuid

from events.envelope import Envelope, wrap
from events.eventbridge_bus import EventBridgeBus
from events.minute_batches import batches_of
from infra.cost.calls import CallCounter
from producers.streamer.tracing import MinuteTraceSampler, trace_header
from tests.conftest import spot_day_bars
from tests.emulators.aws import client

BTC = spot_day_bars(limit=180)  # 2023-01-21 00:00 to 02:59
ROOT = re.compile(r"^Root=1-([0-9a-f]{8})-[0-9a-f]{24};Sampled=1$")


def envelopes(bars_per_minute: int = 1) -> list[Envelope]:
    minutes = [[bar.model_copy(update={"symbol": f"C{n:03d}/USDT"}) for n in range(bars_per_minute)] for bar in BTC]
    batches = [batch for bars in minutes for batch in batches_of(bars, max_detail_bytes=4096)]
    return [wrap(batch, batch.closed_at) for batch in batches]


def test_one_batch_an_hour_is_traced_by_default_with_a_header_x_ray_accepts() -> None:
    sampler = MinuteTraceSampler(60)
    sent = envelopes(bars_per_minute=40)  # several chunks a minute: only the first of a sampled minute is traced
    headers = {e.id: header for e in sent if (header := sampler(e)) is not None}
    traced = [e for e in sent if e.id in headers]
    assert [e.time.minute for e in traced] == [1, 1, 1]  # the minute opening on the hour closes at :01
    first_chunks = {}
    for envelope in sent:
        first_chunks.setdefault(envelope.time, envelope.id)
    assert all(first_chunks[e.time] == e.id for e in traced) and len(sent) == 3 * len(BTC)
    for envelope in traced:
        match = ROOT.match(headers[envelope.id])
        assert match and int(match[1], 16) == int(envelope.time.timestamp())
    assert sampler(traced[0]) == headers[traced[0].id]  # a retried batch keeps its trace


def test_every_minute_and_never() -> None:
    every = MinuteTraceSampler(1)
    assert all(every(e) == trace_header(e) for e in envelopes()[:5])
    assert EventBridgeBus(None, "bus").trace_header is None  # --trace-every 0: no sampler, no header


def test_eventbridge_accepts_the_header_on_the_traced_entry_only(moto_endpoint: str) -> None:
    events = client("events", moto_endpoint)
    bus_name = f"trace-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus_name)
    sent: list[dict[str, object]] = []
    events.meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: sent.extend(params["Entries"])
    )
    counter = CallCounter()
    counter.attach(events)
    EventBridgeBus(events, bus_name, trace_header=MinuteTraceSampler(60)).publish(envelopes()[:70])
    assert counter.counts.requests == {"events.PutEvents": 7}
    assert [n for n, entry in enumerate(sent) if "TraceHeader" in entry] == [0, 60]
