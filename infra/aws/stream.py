"""`stds stream`: the streamer as it runs in its Fargate task, publishing closed bars to EventBridge or SNS.

Cursors live in the DynamoDB control table (`--table-prefix`) or a file (`--cursors`); they are saved
every heartbeat and on stop, never past what the bus accepted. SIGTERM stops the connections, delivers
what is queued, saves the cursors and exits 0 within Fargate's stop timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session

from consumers.stores.dynamodb import TableNames
from events.bus import Bus
from events.dead_letters import DeadLetterFile
from events.eventbridge_bus import EventBridgeBus
from events.sns_bus import SnsBus
from infra.aws.delivered_bars_metric import DeliveredBarsMetric
from producers.exchanges.registry import adapter_for
from producers.streamer.cursors import CursorFile, CursorStore, DynamoCursorItem
from producers.streamer.publisher import BusPublisher, DeliveredCursors
from producers.streamer.runner import stream_until_stopped
from producers.streamer.streamer import Streamer, StreamerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamOptions:
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


def streamer_command(symbols: list[str], bus_option: list[str], prefix: str) -> list[str]:
    """The arguments the Fargate task gives the image's entrypoint (`stds stream`), from the stack."""
    return [
        "--symbols", ",".join(symbols), *bus_option, "--table-prefix", prefix, "--heartbeat", "60",
        "--deployment", prefix,
    ]  # fmt: skip


def bus_for(options: StreamOptions, client: Any = None) -> Bus:
    session = botocore.session.get_session()
    if options.event_bus:
        return EventBridgeBus(client or session.create_client("events"), options.event_bus)
    if options.topic_arn:
        return SnsBus(client or session.create_client("sns"), options.topic_arn)
    raise ValueError("give --event-bus NAME or --sns-topic ARN: where should the bars go?")


def cursor_store(options: StreamOptions) -> CursorStore:
    if options.table_prefix:
        client = botocore.session.get_session().create_client("dynamodb")
        return DynamoCursorItem(client, TableNames.with_prefix(options.table_prefix).control)
    return CursorFile(options.cursors)


async def run_stream(
    options: StreamOptions, bus: Bus | None = None, until_published: int | None = None
) -> dict[str, Any]:
    publisher = BusPublisher(bus or bus_for(options))
    dead_letters = DeadLetterFile(options.dead_letters)
    streamer = Streamer(
        adapter=adapter_for(options.exchange),
        settings=options.stream,
        sink=publisher,
        cursors=DeliveredCursors(cursor_store(options), publisher),
        dead_letters=dead_letters,
    )
    until = (lambda published: published >= until_published) if until_published else None
    metric = DeliveredBarsMetric(_client("cloudwatch"), options.deployment) if options.deployment else None
    reporting = asyncio.create_task(_report(metric, publisher, options.metric_interval_s)) if metric else None
    try:
        await stream_until_stopped(streamer, lambda: None, options.duration_s, until)
    finally:
        delivered = publisher.close(options.stop_timeout_s)
        streamer.cursor_store.save(streamer.gate.cursors)  # again, now that the queue is delivered
        dead_letters.close()
        if reporting is not None and metric is not None:
            reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporting
            metric.put(publisher.stats.published)  # what was delivered while stopping counts too
    summary = {
        "published": streamer.published, "backfilled": streamer.backfilled, "malformed": streamer.malformed,
        "delivered": publisher.stats.published, "refused_batches": publisher.stats.refused_batches,
        "all_delivered": delivered,
    }  # fmt: skip
    log.info("stream stopped", extra=summary)
    return summary


async def _report(metric: DeliveredBarsMetric, publisher: BusPublisher, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(metric.put, publisher.stats.published)  # off the loop the websockets run on


def _client(service: str) -> Any:
    return botocore.session.get_session().create_client(service)
