"""The execution Lambda: OrderRequested → risk → broker → holdings once → OrderFilled/OrderRejected."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from consumers.execution.broker import Broker
from consumers.execution.consumer import ExecutionConsumer
from consumers.execution.paper import PaperBroker
from consumers.stores.ports import ProcessedIds
from events.bus import Bus
from events.envelope import wrap
from events.models import Event, OrderFilled, OrderRejected, OrderRequested
from infra.aws.handlers.delivery import detail_of, handle_each
from infra.aws.handlers.environment import HandlerEnvironment
from infra.aws.handlers.instances import Instances
from infra.aws.handlers.tracing import traced
from infra.config import ConfigError

CONSUMER = "execution"

logger = Logger(service="stds-execution")
metrics = Metrics(namespace="STDS", service="stds-execution")


@dataclass(frozen=True)
class ExecutionApp:
    consumer: ExecutionConsumer
    processed: ProcessedIds
    bus: Bus

    def on_order(self, order: OrderRequested, at: datetime) -> list[Event]:
        """Skip a delivery already handled; publish before marking, so a crash in between re-publishes
        (consumers dedupe by the deterministic ids) rather than loses the settlement."""
        if self.processed.seen(CONSUMER, order.event_id):
            return []
        caused = self.consumer.on_order(order)
        self.bus.publish([wrap(event, at) for event in caused])
        self.processed.mark(CONSUMER, order.event_id)
        return caused


def broker_from_environment(environment: HandlerEnvironment) -> Broker:
    kind = os.environ.get("STDS_BROKER", "paper")
    if kind == "paper":
        paper = environment.config.paper
        return PaperBroker(paper.fee_bps, paper.slippage_bps)
    if kind != "ccxt":
        raise ConfigError(f"STDS_BROKER={kind!r}: expected paper or ccxt")
    # imported here only: ccxt costs the strategy functions nothing, and paper execution nothing either
    from consumers.execution.ccxt_broker import (
        CcxtBroker,
        credentials_from_environment,
        credentials_from_secrets_manager,
    )

    secret_id = os.environ.get("STDS_EXCHANGE_SECRET_ID")
    credentials = (
        credentials_from_secrets_manager(secret_id, environment.client("secretsmanager"))
        if secret_id
        else credentials_from_environment()
    )
    return CcxtBroker(
        os.environ.get("STDS_EXCHANGE", "binance"),
        credentials,
        sandbox=os.environ.get("STDS_EXCHANGE_SANDBOX", "").lower() == "true",
        rest_url=os.environ.get("STDS_EXCHANGE_REST_URL") or None,
    )


def _build() -> ExecutionApp:
    environment = HandlerEnvironment.read()
    stores = environment.stores()
    config = environment.config
    consumer = ExecutionConsumer(
        book=stores.book,
        broker=broker_from_environment(environment),
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


def _on_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
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


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    app()
