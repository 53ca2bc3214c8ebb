"""StdsStack: the event bus and its archive (or an SNS topic), the DynamoDB tables, the bar bucket, one Lambda and
rule per configured strategy (the rule's pattern is the strategy's own declared pattern), the execution and
reconciliation Lambdas with the exchange secret, and the streamer.

Each concern is a module of its own, composed here in the order they depend on each other: failures and alarms
(watch.py), the channel (bus or topic, channel.py), tables.py, bar_bucket.py, strategy_functions.py,
execution.py, streamer.py. Failures go to two queues shared by every function and rule, alarmed, with the alarms
on one SNS topic. Every physical name starts with the prefix, which also names the stack (names.py).
Permissions are per function, and per strategy group: a group's strategies read the bars the streamer keeps in
the bucket, read and write only their own partitions of sub-accounts, record orders, and publish; only execution
and reconciliation read the secret. Concerns are plain functions and classes creating resources in the stack
itself, not nested constructs: nesting would change every logical id, and CloudFormation would replace the
named, retained tables and bucket. The one exception is the strategy functions: they live in nested stacks of
their own (strategy_functions.py), so that 500 strategies fit CloudFormation's 500 resources per stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from events.aggregation import higher_timeframes
from events.timeframes import timeframe_ms
from infra.cdk.bar_bucket import BarBucket
from infra.cdk.channel import open_channel
from infra.cdk.execution import execution
from infra.cdk.functions import Functions
from infra.cdk.lint_exceptions import accept_known_findings, explain_nag_findings
from infra.cdk.names import check_physical_names, check_prefix
from infra.cdk.settings import StackSettings
from infra.cdk.strategy_functions import strategy_functions
from infra.cdk.streamer import streamer
from infra.cdk.tables import tables
from infra.cdk.watch import Watch
from infra.config import StdsConfig
from infra.strategy_loader import bar_pattern


class StdsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        config: StdsConfig,
        strategy_code: Path,
        execution_code: Path,
        streamer_context: Path,
        settings: StackSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        self.settings = settings = settings or StackSettings()
        prefix = check_prefix(settings.prefix)
        symbols = sorted({*settings.streamer_symbols, *config.named_symbols()})
        if not symbols:
            raise ValueError("no symbols to stream: name them in the strategy lines or in the stds:symbols context")
        self.watch = Watch(self, "Watch", prefix=prefix, alarm_email=settings.alarm_email)
        self.channel = open_channel(
            self, settings.bus, prefix, archive_days=settings.archive_retention_days, watch=self.watch
        )
        self.tables = tables(self, prefix)
        self.bar_bucket = BarBucket(self, prefix, settings.bar_retention_days)
        functions = Functions(self, prefix, settings.function_memory_mb, self.channel, self.watch.failed)
        self.strategy_functions = strategy_functions(
            functions,
            config,
            strategy_code,
            tables=self.tables,
            bars=self.bar_bucket,
            undelivered=self.watch.undelivered,
        )
        self.execution = execution(
            functions,
            execution_code,
            tables=self.tables,
            watch=self.watch,
            reconcile_every_min=config.broker.reconcile.every_min,
        )
        self.streamer = streamer(
            self,
            streamer_context,
            symbols,
            settings,
            channel=self.channel,
            bars=self.bar_bucket,
            control=self.tables["control"],
            higher_timeframes=sorted(higher_timeframes(map(bar_pattern, config.strategies.values())), key=timeframe_ms),
        )
        check_physical_names(self, settings.region)
        explain_nag_findings(self, self.bar_bucket.bucket)
        accept_known_findings(self, [self.watch.failed, self.watch.undelivered], self.watch.topic)
