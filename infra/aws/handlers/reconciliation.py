"""The scheduled reconciliation function (EventBridge Scheduler, every few minutes): the same reconciler as
`stds run`, on the DynamoDB book and the ccxt account the execution function trades with. Settlements it
recovers go onto the bus; a difference it cannot explain engages the kill switch and raises the metric
`ReconciliationProblems`, which has an alarm."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from consumers.reconciliation.app import ReconciliationApp
from consumers.reconciliation.reconciler import Reconciler
from infra.aws.handlers.environment import HandlerEnvironment, ProcessSettings

logger = Logger(service="stds-reconciliation")
metrics = Metrics(namespace="STDS", service="stds-reconciliation")


@cache
def app() -> ReconciliationApp:
    environment = HandlerEnvironment.read()
    if environment.settings.broker != "ccxt":
        return ReconciliationApp(None, environment.bus())
    from consumers.execution.ccxt_broker import CcxtBroker

    config = environment.config
    broker = environment.broker()
    assert isinstance(broker, CcxtBroker)
    keys = config.sub_accounts(config.broker.exchange, config.named_symbols())
    return ReconciliationApp(
        Reconciler.of(environment.stores(), broker, config.broker.reconcile, keys), environment.bus()
    )


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Any invocation (the schedule's, or a manual one) reconciles once."""
    result = app().run(int(time.time() * 1000))
    if result is None:
        return {"skipped": "STDS_BROKER is paper: nothing on an exchange to reconcile with"}
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


if ProcessSettings.read().on_lambda:
    app()
