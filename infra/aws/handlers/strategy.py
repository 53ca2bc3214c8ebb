"""The strategy Lambda: one per configured strategy, invoked by the EventBridge rule with its bar pattern.

It must start fast (a cold start delays the decision on that bar), so nothing here imports ccxt.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from consumers.strategy_consumer import StrategyConsumer
from events.bus import Bus
from events.dead_letters import LoggedDeadLetters
from events.envelope import wrap
from events.models import BarClosed, OrderRequested
from infra.aws.handlers.delivery import detail_of, handle_each
from infra.aws.handlers.environment import HandlerEnvironment
from infra.aws.handlers.tracing import traced
from infra.strategy_loader import load_strategy

logger = Logger(service="stds-strategy")
metrics = Metrics(namespace="STDS", service="stds-strategy")


@dataclass(frozen=True)
class StrategyApp:
    consumer: StrategyConsumer
    bus: Bus

    def on_bar(self, bar: BarClosed, at: datetime) -> int:
        """Decide, publish what the decision caused (stamped `at`, the bar event's time); how many orders."""
        caused = self.consumer.on_bar(bar)
        if caused:
            self.bus.publish([wrap(event, at) for event in caused])
        return sum(isinstance(event, OrderRequested) for event in caused)


@cache
def app() -> StrategyApp:
    environment = HandlerEnvironment.read()
    name = os.environ.get("STDS_STRATEGY", "")
    spec = load_strategy(environment.config, name, environment.config_dir)
    stores = environment.stores()
    consumer = StrategyConsumer(spec.name, spec.strategy, stores.bars, stores.book, LoggedDeadLetters(logger))
    return StrategyApp(consumer, environment.bus())


@metrics.log_metrics
@logger.inject_lambda_context
@traced("stds-strategy")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An EventBridge event, or SNS records (one per invocation in practice; each is handled)."""
    return handle_each(event, _on_delivery)


def _on_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    bar, envelope = detail_of(delivery, BarClosed)
    logger.set_correlation_id(envelope.id)
    orders = app().on_bar(bar, envelope.time)  # caused events carry the time of their cause, as locally
    # no strategy dimension: that would be 3 custom metrics ($0.90/month) per strategy, while Lambda's own
    # free metrics (Invocations, Errors, Duration by FunctionName) already tell the strategies apart
    metrics.add_metric(name="BarsProcessed", unit=MetricUnit.Count, value=1)
    if orders:
        metrics.add_metric(name="OrdersRequested", unit=MetricUnit.Count, value=orders)
        latency_ms = time.time() * 1000 - (bar.close_time_ms + 1)
        metrics.add_metric(name="BarCloseToOrderLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    logger.info("bar decided", extra={"bar": bar.event_id, "orders": orders})
    return {"bar": bar.event_id, "orders": orders}


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    app()  # build clients and load the strategy during init, which Lambda runs at full CPU
