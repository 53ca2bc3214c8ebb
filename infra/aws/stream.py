"""`stds stream`: the streamer as it runs in its Fargate task, publishing closed bars to EventBridge or SNS.

Each exchange × timeframe × minute goes out as one `BarsClosed` batch (up to 256 KB), after its rows are
in the S3 span object (`--bucket`); one batch every `--trace-every` minutes carries an X-Ray trace header.
Cursors live in the DynamoDB control table (`--table-prefix`) or a file (`--cursors`); they are saved
every heartbeat and on stop, never past what the bus accepted. SIGTERM (a Fargate Spot notice too) stops the
connections, delivers what is gathered, saves the cursors and exits 0 within Fargate's stop timeout; after a
SIGKILL the next task re-publishes from the saved cursors, and S3 keeps each bar once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session

from consumers.stores.dynamodb import TableNames
from events.aggregation import HigherBars
from events.bus import Bus
from events.dead_letters import DeadLetterFile
from events.eventbridge_bus import EventBridgeBus
from events.sns_bus import SnsBus
from infra.aws.delivered_bars_metric import DeliveredBarsMetric
from producers.exchanges.registry import adapter_for
from producers.streamer.cursors import CursorFile, CursorStore, DynamoCursorItem
from producers.streamer.publisher import BusPublisher, delivered_cursors
from producers.streamer.runner import ExchangeStream, stream_until_stopped
from producers.streamer.s3_archive import SpanArchive
from producers.streamer.seeding import seed_forming_bars
from producers.streamer.supervisor import Streamer, StreamerSettings
from producers.streamer.tracing import MinuteTraceSampler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamOptions:
    """What `stds stream` was asked for; `run_stream` turns it into the parts below before anything runs."""

    stream: StreamerSettings  # symbols, endpoints (None: the exchange's), start, heartbeat, connection
    event_bus: str | None = None
    topic_arn: str | None = None
    table_prefix: str | None = None  # cursors in <prefix>control; else `cursors`
    cursors: Path = Path("out/stream/cursors.json")
    dead_letters: Path = Path("out/stream/dead-letters.jsonl")
    exchange: str = "binance"
    duration_s: float | None = None
    stop_timeout_s: float = 20.0  # for queued bars at stop; Fargate kills 30 s after SIGTERM
    deployment: str | None = None  # put the BarsDelivered metric for this deployment (its prefix)
    metric_interval_s: float = 60.0
    bucket: str | None = None  # the S3 bar archive the strategy functions restore windows from
    batch_wait_s: float = 2.0  # after a minute's first bar, send it without the symbols still missing
    trace_every_minutes: int = 60  # one batch this often carries an X-Ray trace header; 0: none
    higher_timeframes: tuple[str, ...] = ()  # bars also made from the minutes, each in its minute's batches


@dataclass(frozen=True)
class BarDelivery:
    """Where the streamed bars go: an EventBridge bus (one batch every `trace_every_minutes` traced) or an SNS
    topic; each minute's batch first into the S3 bar archive (`bucket`), sent at most `batch_wait_s` after its
    first bar, with the `higher_timeframes` made from the minutes; `stop_timeout_s` to deliver what is queued
    at a stop."""

    event_bus: str | None
    topic_arn: str | None
    bucket: str | None
    batch_wait_s: float
    trace_every_minutes: int
    higher_timeframes: tuple[str, ...]
    stop_timeout_s: float


@dataclass(frozen=True)
class CursorPlace:
    """Where the streamer keeps how far each stream got: the DynamoDB control table of `table_prefix`, else
    `file`."""

    table_prefix: str | None
    file: Path

    def store(self) -> CursorStore:
        if self.table_prefix:
            client = botocore.session.get_session().create_client("dynamodb")
            return DynamoCursorItem(client, TableNames.with_prefix(self.table_prefix).control)
        return CursorFile(self.file)


@dataclass(frozen=True)
class DeliveredBarsReporting:
    """The BarsDelivered metric of `deployment` (its prefix), put every `interval_s`."""

    deployment: str
    interval_s: float


def streamer_command(
    symbols: list[str],
    bus_option: list[str],
    prefix: str,
    bucket: str | None = None,
    higher_timeframes: Sequence[str] = (),
) -> list[str]:
    """The arguments the Fargate task gives the image's entrypoint (`stds stream`), from the stack; with
    `bucket`, the streamer keeps the bar archive there; `higher_timeframes` are those the strategies declare."""
    command = ["--symbols", ",".join(symbols), *bus_option, "--table-prefix", prefix, "--heartbeat", "60"]
    command += ["--deployment", prefix, *(["--bucket", bucket] if bucket else [])]
    return [*command, *(["--timeframes", ",".join(higher_timeframes)] if higher_timeframes else [])]


def bus_for(delivery: BarDelivery, client: Any = None) -> Bus:
    session = botocore.session.get_session()
    if delivery.event_bus:
        sampler = MinuteTraceSampler(delivery.trace_every_minutes) if delivery.trace_every_minutes else None
        return EventBridgeBus(client or session.create_client("events"), delivery.event_bus, trace_header=sampler)
    if delivery.topic_arn:
        return SnsBus(client or session.create_client("sns"), delivery.topic_arn)
    raise ValueError("give --event-bus NAME or --sns-topic ARN: where should the bars go?")


async def run_stream(
    options: StreamOptions, bus: Bus | None = None, until_published: int | None = None, s3: Any = None
) -> dict[str, Any]:
    """Stream and publish until SIGTERM/SIGINT, `duration_s` or `until_published` bars, then deliver what is
    queued and save the cursors; the summary is returned. `bus` and `s3` replace the clients made from the
    environment (tests give the emulators')."""
    stream = ExchangeStream(options.exchange, options.stream, options.duration_s)
    delivery = BarDelivery(
        event_bus=options.event_bus,
        topic_arn=options.topic_arn,
        bucket=options.bucket,
        batch_wait_s=options.batch_wait_s,
        trace_every_minutes=options.trace_every_minutes,
        higher_timeframes=options.higher_timeframes,
        stop_timeout_s=options.stop_timeout_s,
    )
    cursors = CursorPlace(options.table_prefix, options.cursors)
    reporting = DeliveredBarsReporting(options.deployment, options.metric_interval_s) if options.deployment else None
    return await _stream(
        stream, delivery, cursors, options.dead_letters, reporting, bus=bus, until_published=until_published, s3=s3
    )


async def _stream(
    stream: ExchangeStream,
    delivery: BarDelivery,
    cursor_place: CursorPlace,
    dead_letters_file: Path,
    reporting: DeliveredBarsReporting | None,
    *,
    bus: Bus | None,
    until_published: int | None,
    s3: Any,
) -> dict[str, Any]:
    archive = SpanArchive(s3 or _client("s3"), delivery.bucket) if delivery.bucket else None
    publisher = BusPublisher(
        bus or bus_for(delivery), stream.settings.symbols, archive=archive, batch_wait_s=delivery.batch_wait_s
    )
    dead_letters = DeadLetterFile(dead_letters_file)
    # higher bars go to the publisher as their last minute does, so they leave in that minute's send
    higher_bars = HigherBars(publisher, delivery.higher_timeframes) if delivery.higher_timeframes else None
    streamer = Streamer(
        adapter=adapter_for(stream.exchange),
        settings=stream.settings,
        sink=higher_bars or publisher,
        cursors=delivered_cursors(cursor_place.store(), publisher),
        dead_letters=dead_letters,
    )
    if higher_bars is not None:
        await seed_forming_bars(streamer, higher_bars)
    until = (lambda published: published >= until_published) if until_published else None
    metric = DeliveredBarsMetric(_client("cloudwatch"), reporting.deployment) if reporting else None
    putting = asyncio.create_task(_report(metric, publisher, reporting.interval_s)) if metric and reporting else None
    try:
        await stream_until_stopped(streamer, lambda: None, stream.duration_s, until)
    finally:
        delivered = publisher.close(delivery.stop_timeout_s)
        streamer.cursor_store.save(streamer.gate.cursors)  # again, now that the queue is delivered
        dead_letters.close()
        if putting is not None and metric is not None:
            putting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await putting
            metric.put(publisher.stats.published)  # what was delivered while stopping counts too
    summary = {
        "published": streamer.published,
        "backfilled": streamer.backfilled,
        "malformed": streamer.malformed,
        "delivered": publisher.stats.published,
        "batches": publisher.stats.batches,
        "refused_batches": publisher.stats.refused_batches,
        "all_delivered": delivered,
        **_latency_ms(publisher.stats.latency_s),
    }
    log.info("stream stopped", extra=summary)
    return summary


async def _report(metric: DeliveredBarsMetric, publisher: BusPublisher, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(metric.put, publisher.stats.published)  # off the loop the websockets run on


def _latency_ms(latencies_s: Sequence[float]) -> dict[str, int]:
    """From a minute's first bar reaching the publisher to the bus accepting its batch: p50, p95 and max."""
    if not latencies_s:
        return {}
    ordered = sorted(latencies_s)
    at = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.95)]
    return {
        "latency_p50_ms": round(at[0] * 1000),
        "latency_p95_ms": round(at[1] * 1000),
        "latency_max_ms": round(ordered[-1] * 1000),
    }


def _client(service: str) -> Any:
    return botocore.session.get_session().create_client(service)
