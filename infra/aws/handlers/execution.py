"""The execution Lambda: OrderRequested → risk → broker → holdings once → OrderFilled/OrderRejected; and once a
minute (a `BarsClosed` batch) the kill switch's `flatten`, which closes every position at those closes."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from consumers.execution.app import ExecutionApp
from consumers.execution.consumer import ExecutionConsumer
from events.models import BarsClosed, OrderFilled, OrderRejected, OrderRequested
from infra.aws.handlers.delivery import detail_of, handle_each
from infra.aws.handlers.environment import HandlerEnvironment, ProcessSettings
from infra.aws.handlers.instances import Instances
from infra.aws.handlers.tracing import traced

logger = Logger(service="stds-execution")
metrics = Metrics(namespace="STDS", service="stds-execution")


def _build() -> ExecutionApp:
    environment = HandlerEnvironment.read()
    stores = environment.stores()
    config = environment.config
    consumer = ExecutionConsumer(
        book=stores.book,
        broker=environment.broker(),
        risk=config.risk_policy(),
        kill_switch=stores.kill_switch,
        fee_bps=config.paper.fee_bps,
    )
    return ExecutionApp(consumer, stores.processed, environment.bus())


app = Instances(_build)


@metrics.log_metrics
@logger.inject_lambda_context
@traced("stds-execution", always=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An EventBridge event, or SNS records (one per invocation in practice; each is handled)."""
    return handle_each(event, _on_delivery)


def _on_delivery(delivery: Any) -> dict[str, Any]:
    # a delivery is whatever the invocation held: anything but an object is refused by `detail_of`, in one line
    if isinstance(delivery, dict) and delivery.get("detail-type") == "BarsClosed":
        return _on_minute(delivery)
    order, envelope = detail_of(delivery, OrderRequested)
    logger.set_correlation_id(envelope.id)
    started = time.perf_counter()
    with app.take() as instance:
        caused = instance.on_order(order, envelope.time)  # caused events carry the time of their cause, as locally
    settlement = caused[0] if caused else None
    outcome = type(settlement).__name__ if settlement else "already handled"
    if isinstance(settlement, OrderFilled):
        metrics.add_metric(name="OrdersFilled", unit=MetricUnit.Count, value=1)
    elif isinstance(settlement, OrderRejected):
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        logger.warning("order rejected", extra={"order": order.order_id, "reason": settlement.reason})
    metrics.add_metric(name="ExecutionTime", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
    logger.info("order handled", extra={"order": order.order_id, "outcome": outcome, "strategy": order.strategy})
    return {"order": order.order_id, "outcome": outcome}


def _on_minute(delivery: dict[str, Any]) -> dict[str, Any]:
    """A minute's bars: nothing to do unless the kill switch says flatten (one read of it per minute)."""
    batch, envelope = detail_of(delivery, BarsClosed)
    with app.take() as instance:
        settled = instance.on_bars(batch, envelope.time)
    if settled:
        logger.warning("flatten closed positions", extra={"orders": [settlement.order_id for settlement in settled]})
    return {"batch": envelope.id, "closes": len(settled)}


if ProcessSettings.read().on_lambda:
    app()
