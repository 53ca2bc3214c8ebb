"""The scheduled reconciliation function (EventBridge Scheduler, every few minutes): the same reconciler as
`stds run`, on the DynamoDB book and the ccxt account the execution function trades with. Settlements it
recovers go onto the bus; a difference it cannot explain engages the kill switch and raises the metric
`ReconciliationProblems`, which has an alarm."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from consumers.reconciliation.reconciler import Reconciler
from events.bus import Bus
from events.envelope import wrap
from infra.aws.handlers.environment import HandlerEnvironment
from infra.aws.handlers.execution import broker_from_environment

logger = Logger(service="stds-reconciliation")
metrics = Metrics(namespace="STDS", service="stds-reconciliation")


@dataclass(frozen=True)
class ReconciliationApp:
    reconciler: Reconciler | None  # None with the paper broker: there is no exchange account to compare with
    bus: Bus


@cache
def app() -> ReconciliationApp:
    environment = HandlerEnvironment.read()
    if os.environ.get("STDS_BROKER", "paper") != "ccxt":
        return ReconciliationApp(None, environment.bus())
    from consumers.execution.ccxt_broker import CcxtBroker

    config = environment.config
    broker = broker_from_environment(environment)
    assert isinstance(broker, CcxtBroker)
    keys = config.sub_accounts(config.broker.exchange, config.named_symbols())
    return ReconciliationApp(
        Reconciler.of(environment.stores(), broker, config.broker.reconcile, keys), environment.bus()
    )


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Any invocation (the schedule's, or a manual one) reconciles once."""
    reconciling = app()
    if reconciling.reconciler is None:
        return {"skipped": "STDS_BROKER is paper: nothing on an exchange to reconcile with"}
    result = reconciling.reconciler.run(int(time.time() * 1000))
    reconciling.bus.publish([wrap(settlement) for settlement in result.settled])
    metrics.add_metric(name="ReconciliationProblems", unit=MetricUnit.Count, value=len(result.problems))
    metrics.add_metric(name="ReconciliationSettled", unit=MetricUnit.Count, value=len(result.settled))
    document = result.document()
    if result.agrees:
        logger.info("reconciled", extra={"reconciliation": document})
    else:
        logger.warning("reconciliation found differences", extra={"reconciliation": document})
    return {
        "agrees": result.agrees,
        "settled": len(result.settled),
        "problems": result.problems,
        "unreachable": result.unreachable,
    }


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    app()
