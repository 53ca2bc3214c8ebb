"""The strategy Lambda: one per configured strategy, invoked by its rule once a minute with a batch of bars
(`BarsClosed`), deciding every symbol it trades in that one invocation.

It must start fast (a cold start delays the minute's decisions), so nothing here imports ccxt.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from consumers.stores.archived_bars import ArchivedBars
from consumers.stores.memory import MemoryBarStore
from consumers.strategies.consumer import StrategyConsumer
from events.bus import Bus
from events.dead_letters import LoggedDeadLetters
from events.envelope import wrap
from events.models import BarsClosed, OrderRequested
from events.patterns import Matcher, compile_pattern
from infra.aws.handlers.delivery import detail_of, handle_each
from infra.aws.handlers.embedded_metrics import embedded_metrics
from infra.aws.handlers.environment import HandlerEnvironment
from infra.aws.handlers.instances import Instances
from infra.aws.handlers.tracing import traced
from infra.strategy_loader import load_strategy, retention_for

logger = Logger(service="stds-strategy")


@dataclass(frozen=True)
class StrategyApp:
    consumer: StrategyConsumer
    bus: Bus
    wanted: Matcher  # the strategy's own bar pattern: which rows of a batch are its bars

    def on_batch(self, batch: BarsClosed, at: datetime) -> Decided:
        """Decide every bar of the batch the strategy subscribes to, in one go; publish what the decisions
        caused (stamped `at`, the batch event's time)."""
        bars = [bar for bar in batch.bar_events() if self.wanted(bar)]
        caused = self.consumer.on_bars(bars) if bars else []
        if caused:
            self.bus.publish([wrap(event, at) for event in caused])
        return Decided(bars=len(bars), orders=sum(isinstance(event, OrderRequested) for event in caused))


@dataclass(frozen=True)
class Decided:
    bars: int
    orders: int


def _build() -> StrategyApp:
    environment = HandlerEnvironment.read()
    name = os.environ.get("STDS_STRATEGY", "")
    spec = load_strategy(environment.config, name, environment.config_dir)
    dead_letters = LoggedDeadLetters(logger)
    wanted = compile_pattern(spec.pattern)
    bars = ArchivedBars(
        environment.client("s3"),
        environment.required_bar_bucket(),
        MemoryBarStore(retention_for([spec])),
        dead_letters,
        wanted=lambda bar: wanted(wrap(bar)),
    )
    stores = environment.stores(bars)
    consumer = StrategyConsumer(spec.name, spec.strategy, stores.bars, stores.book, dead_letters)
    return StrategyApp(consumer, environment.bus(), lambda bar: wanted(wrap(bar)))


app = Instances(_build, function=lambda: os.environ.get("STDS_STRATEGY", ""))


@logger.inject_lambda_context
@traced("stds-strategy")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An EventBridge event, or SNS records (one per invocation in practice; each is handled)."""
    return handle_each(event, _on_delivery)


def _on_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    batch, envelope = detail_of(delivery, BarsClosed)
    logger.set_correlation_id(envelope.id)
    with app.take() as instance:
        decided = instance.on_batch(batch, envelope.time)  # caused events carry the time of their cause, as locally
    # One line per invocation, which is also the metrics (CloudWatch's embedded metric format): no second
    # line for powertools' Metrics. No strategy dimension: that would be 3 custom metrics ($0.90/month) per
    # strategy, while Lambda's own free metrics (Invocations, Errors, Duration by FunctionName) tell them apart.
    latency_ms = round((time.time() - batch.closed_at.timestamp()) * 1000)
    logger.info(
        "batch decided",
        extra={
            "batch": envelope.id,
            "open_time_ms": batch.open_time_ms,
            **embedded_metrics(
                {"BarsProcessed": (decided.bars, "Count"), "OrdersRequested": (decided.orders, "Count")}
                | ({"BarCloseToOrderLatency": (latency_ms, "Milliseconds")} if decided.orders else {})
            ),
        },
    )
    return {"batch": envelope.id, "bars": decided.bars, "orders": decided.orders}


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    app()  # build clients and load the strategy during init, which Lambda runs at full CPU
