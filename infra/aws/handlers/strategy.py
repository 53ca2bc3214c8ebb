"""The strategy Lambda: one per configured strategy, invoked by its rule once a minute with a batch of bars
(`BarsClosed`), deciding every symbol it trades in that one invocation.

It must start fast (a cold start delays the minute's decisions), so nothing here imports ccxt.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger

from consumers.stores.archived_bars import ArchivedBars
from consumers.stores.memory import MemoryBarStore
from consumers.strategies.app import StrategyApp
from consumers.strategies.consumer import StrategyConsumer
from events.dead_letters import LoggedDeadLetters
from events.envelope import bar_envelope
from events.models import BarsClosed
from events.patterns import compile_pattern
from infra.aws.handlers.delivery import detail_of, handle_each
from infra.aws.handlers.embedded_metrics import embedded_metrics
from infra.aws.handlers.environment import HandlerEnvironment, ProcessSettings
from infra.aws.handlers.instances import Instances
from infra.aws.handlers.tracing import traced
from infra.strategy_loader import load_strategy, refuse_informative_on_aws, retention_for

logger = Logger(service="stds-strategy")


def _build() -> StrategyApp:
    environment = HandlerEnvironment.read()
    refuse_informative_on_aws(environment.config, str(environment.settings.strategies_file))
    spec = load_strategy(environment.config, environment.settings.required_strategy(), environment.config_dir)
    dead_letters = LoggedDeadLetters(logger)
    wanted = compile_pattern(spec.pattern)
    bars = ArchivedBars(
        environment.client("s3"),
        environment.settings.required_bar_bucket(),
        MemoryBarStore(retention_for([spec])),
        dead_letters,
        wanted=lambda bar: wanted(bar_envelope(bar)),
    )
    stores = environment.stores(bars)
    consumer = StrategyConsumer(spec.name, spec.strategy, stores.bars, stores.book, dead_letters, spec.stake)
    return StrategyApp(consumer, environment.bus(), wanted)


app = Instances(_build, function=lambda: ProcessSettings.read().strategy or "")


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


if ProcessSettings.read().on_lambda:
    app()  # build clients and load the strategy during init, which Lambda runs at full CPU
