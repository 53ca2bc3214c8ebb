"""StdsStack: the event bus and its archive, the DynamoDB tables, one Lambda and rule per configured strategy
(the rule's pattern is the strategy's own declared pattern), the execution Lambda, and the exchange secret.

Failures go to two queues shared by every function and rule (infra/cdk/watch.py), alarmed, with the alarms
on one SNS topic. Every physical name starts with the prefix, which also names the stack (infra/cdk/names.py).
Permissions are per function: a strategy reads the bars the streamer keeps in the bucket, reads and writes
only its own partition of sub-accounts, records orders, and publishes on the bus; only execution reads the
secret. Strategy rules select minute batches (`BarsClosed`) with `batch_pattern` of the strategy's bar pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnElement, CfnOutput, Duration, IgnoreMode, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from consumers.execution.ccxt_broker import SECRET_TEMPLATE
from consumers.stores.dynamodb import TABLES, TableSpec
from events.bar_archive import PREFIX as BAR_PREFIX
from events.minute_batches import batch_pattern
from infra.aws.delivered_bars_metric import NAMESPACE
from infra.aws.stream import streamer_command
from infra.cdk.lint_exceptions import accept_known_findings
from infra.cdk.names import bar_bucket_name, check_prefix, function_name
from infra.cdk.watch import Watch
from infra.config import StdsConfig
from infra.local.runtime import ORDERS_PATTERN
from infra.strategy_loader import bar_pattern

PATTERN_FIELDS = {
    "detail-type": "detail_type", "detail": "detail", "source": "source", "account": "account",
    "region": "region", "resources": "resources", "id": "id", "time": "time", "version": "version",
}  # fmt: skip


@dataclass(frozen=True)
class StackSettings:
    prefix: str = "stds-"  # names of the bus and tables
    archive_retention_days: int = 365
    bus: str = "eventbridge"  # or "sns": a topic with filter policies instead of a bus with rules (no archive)
    function_memory_mb: int = 256
    streamer_symbols: tuple[str, ...] = ()  # added to every symbol a strategy line names
    streamer_cpu: int = 256  # 0.25 vCPU: the streamer benchmark shows ~500x headroom for 400 pairs
    streamer_memory_mb: int = 512
    alarm_email: str | None = None  # subscribed to the alarm topic (AWS mails a confirmation link first)
    bar_retention_days: int = 14  # the streamer's S3 spans; a cold strategy restores its windows from them
    streamer_spot: bool = True  # Fargate Spot: a reclaimed task restarts from its cursors with no bar lost


# Lambda keeps an async event through throttling and errors (2 retries) until this age, then sends it to the
# on-failure queue. A bar decided an hour late still lands in its window; an order placed 15 minutes after it
# was asked for would trade at a price nobody decided on, so it waits for `stds dlq redrive` instead.
STRATEGY_MAX_EVENT_AGE = Duration.hours(1)
EXECUTION_MAX_EVENT_AGE = Duration.minutes(15)


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The same pattern the local bus routes with, as CDK's EventPattern (unknown keys are an error)."""
    unknown = set(pattern) - set(PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"event pattern keys {sorted(unknown)} are not EventBridge envelope fields")
    return events.EventPattern(**{PATTERN_FIELDS[key]: value for key, value in pattern.items()})


def construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


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
        self.settings = settings or StackSettings()
        prefix = check_prefix(self.settings.prefix)
        if self.settings.bus not in ("eventbridge", "sns"):
            raise ValueError(f"stds:bus={self.settings.bus!r}: expected eventbridge or sns")
        self.sns = self.settings.bus == "sns"
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{prefix}bus") if not self.sns else None
        self.topic = None
        if self.bus is not None:
            self.bus.archive(
                "BarArchive",
                archive_name=f"{prefix}bars",
                description="every minute batch of bars (BarsClosed), for stds replay --archive",
                event_pattern=events.EventPattern(detail_type=["BarsClosed"]),
                retention=Duration.days(self.settings.archive_retention_days),
            )
        else:
            self.topic = sns.Topic(
                self, "Topic", topic_name=f"{prefix}events", enforce_ssl=True,
                master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            )  # fmt: skip
        self.watch = Watch(self, "Watch", prefix=prefix, alarm_email=self.settings.alarm_email)
        if self.bus is not None:
            rules = self.format_arn(service="events", resource="rule", resource_name=f"{self.bus.event_bus_name}/*")
            self.watch.allow_bus("events.amazonaws.com", rules)
        else:
            assert self.topic is not None
            self.watch.allow_bus("sns.amazonaws.com", self.topic.topic_arn)
        CfnOutput(self, "BusOutput", key="EventBus" if self.bus is not None else "Topic", value=self._bus_name())
        self.tables = {spec.role: self._table(spec) for spec in TABLES}
        self.bar_bucket = self._bar_bucket()
        # kept like the tables, and adopted again by the next deploy (stds deploy imports existing resources)
        self.secret = secretsmanager.Secret(
            self, "ExchangeKeys", secret_name=f"{prefix}exchange-keys",
            description='exchange API keys for the ccxt broker: {"apiKey": "...", "secret": "..."}',
            secret_string_value=SecretValue.unsafe_plain_text(SECRET_TEMPLATE), removal_policy=RemovalPolicy.RETAIN,
        )  # fmt: skip
        strategy_asset = lambda_.Code.from_asset(str(strategy_code))
        self.strategy_functions: dict[str, lambda_.Function] = {}
        for name, line in config.strategies.items():
            function = self._function(
                f"Strategy{construct_id(name)}",
                function_name(prefix, f"strategy-{name}"),
                strategy_asset,
                "infra.aws.handlers.strategy.handler",
                {"STDS_STRATEGY": name, "STDS_BAR_BUCKET": self.bar_bucket.bucket_name},
                max_event_age=STRATEGY_MAX_EVENT_AGE,
                tracing=lambda_.Tracing.PASS_THROUGH,
            )
            self._grant_strategy(function, name)
            self._subscribe(f"Strategy{construct_id(name)}", function, batch_pattern(bar_pattern(line)))
            self.strategy_functions[name] = function
        self.execution_function = self._function(
            "Execution", function_name(prefix, "execution"), lambda_.Code.from_asset(str(execution_code)),
            "infra.aws.handlers.execution.handler",
            {"STDS_BROKER": "paper", "STDS_EXCHANGE_SECRET_ID": self.secret.secret_arn},
            max_event_age=EXECUTION_MAX_EVENT_AGE,
        )  # fmt: skip
        self._grant_execution(self.execution_function)
        self._subscribe("Execution", self.execution_function, ORDERS_PATTERN)
        self.reconciliation_function = self._reconciliation(execution_code, config.broker.reconcile.every_min)
        named = (symbol for line in config.strategies.values() for symbol in line.symbols or ())
        symbols = sorted({*self.settings.streamer_symbols, *named})
        if not symbols:
            raise ValueError("no symbols to stream: name them in the strategy lines or in the stds:symbols context")
        self.streamer = self._streamer(streamer_context, symbols)
        self._explain_exceptions()
        accept_known_findings(self, [self.watch.failed, self.watch.undelivered], self.watch.topic)

    def _reconciliation(self, code: Path, every_min: float) -> lambda_.Function:
        """The reconciler on a schedule (EventBridge Scheduler), alarmed on any difference it cannot explain.
        Like execution it trades nothing until STDS_BROKER=ccxt; it may settle orders and engage the kill switch."""
        name = function_name(self.settings.prefix, "reconciliation")
        minutes = max(1, round(every_min))
        function = self._function(
            "Reconciliation", name, lambda_.Code.from_asset(str(code)), "infra.aws.handlers.reconciliation.handler",
            {"STDS_BROKER": "paper", "STDS_EXCHANGE_SECRET_ID": self.secret.secret_arn},
            max_event_age=Duration.minutes(minutes),  # the next scheduled run supersedes an older one
        )  # fmt: skip
        tables = self.tables
        self._grant_publish(function)
        self.secret.grant_read(function)
        _allow(function, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], [tables["subaccounts"].table_arn])
        _allow(function, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Scan"], [tables["orders"].table_arn])
        _allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["control"].table_arn])
        invoker = iam.Role(
            self, "ReconciliationScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        invoker.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
        rate = f"rate({minutes} minute{'s' * (minutes > 1)})"
        scheduler.CfnSchedule(
            self, "ReconciliationSchedule", name=name, schedule_expression=rate,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn, role_arn=invoker.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),  # next run retries
            ),
        )  # fmt: skip
        problems = cloudwatch.Metric(
            namespace="STDS", metric_name="ReconciliationProblems", statistic="Maximum", period=Duration.minutes(5),
            dimensions_map={"service": "stds-reconciliation"},
        )  # fmt: skip
        self.watch.alarm_on_any("ReconciliationDiffers", "the exchange and the book differ (trading halted)", problems)
        return function

    def _explain_exceptions(self) -> None:
        """cdk-nag AwsSolutions findings this design accepts, each with its reason (the checks run on synth)."""
        reasons = {
            "AwsSolutions-SMG4": "exchange API keys are issued by the exchange; AWS cannot rotate them",
            "AwsSolutions-SQS3": "these queues are the dead-letter queues of the rule targets and functions",
            "AwsSolutions-VPC7": "a public-subnet VPC for one outbound websocket client, no inbound traffic; "
            "flow logs would cost more than the task",
            "AwsSolutions-IAM4": "AWSLambdaBasicExecutionRole only lets a function write its own logs",
            "AwsSolutions-ECS4": "Container Insights would cost more than the one task it watches; the streamer-lag "
            "alarm watches the BarsDelivered metric the streamer puts, and ECS's own CPU and memory metrics are free",
            "AwsSolutions-S1": "the bar bucket holds public market data the streamer writes; access logs would be "
            "written once a minute and cost more than the bucket",
            "AwsSolutions-L1": "Python 3.13, not 3.14: part of ccxt's dependency tree has no cp314 ARM64 wheels yet",
        }
        suppressions = [NagPackSuppression(id=rule, reason=reason) for rule, reason in reasons.items()]
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="X-Ray (xray:PutTraceSegments), ECR (ecr:GetAuthorizationToken) and CloudWatch "
                "(cloudwatch:PutMetricData, limited to its namespace) accept no resource but '*'; every "
                "DynamoDB, EventBridge and Secrets Manager grant names its resource",
                applies_to=["Resource::*"],
            )
        )
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="the bar bucket's objects are one per exchange, timeframe and hour, named as they are written: "
                "the grant is limited to the bars/ prefix and to GetObject (strategies) or Get/PutObject (streamer)",
                applies_to=[f"Resource::<{self.get_logical_id(_cfn(self.bar_bucket))}.Arn>/{BAR_PREFIX}/*"],
            )
        )
        NagSuppressions.add_stack_suppressions(self, suppressions)

    def _streamer(self, context: Path, symbols: list[str]) -> ecs.FargateService:
        """One always-on task on public subnets (no NAT gateway to pay for), restarted by ECS if it dies."""
        vpc = ec2.Vpc(
            self, "Vpc", max_azs=2, nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        )  # fmt: skip
        # no Container Insights: its per-task metrics would cost more than the task; the lag alarm watches
        # BarsDelivered, and ECS's own CPU and memory metrics are free
        cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.DISABLED,
            enable_fargate_capacity_providers=True,
        )  # fmt: skip
        task = ecs.FargateTaskDefinition(
            self, "StreamerTask", cpu=self.settings.streamer_cpu, memory_limit_mib=self.settings.streamer_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )  # fmt: skip
        log_group = logs.LogGroup(
            self, "StreamerLogs", log_group_name=f"/stds/{self.settings.prefix}streamer",
            retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY,
        )  # fmt: skip
        task.add_container(
            "streamer",
            image=ecs.ContainerImage.from_asset(
                str(context), platform=ecr_assets.Platform.LINUX_ARM64, ignore_mode=IgnoreMode.DOCKER
            ),
            command=streamer_command(symbols, self._bus_option(), self.settings.prefix, self.bar_bucket.bucket_name),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="streamer", log_group=log_group),
            stop_timeout=Duration.seconds(30),  # SIGTERM, then 30 s to deliver the queue and save cursors
        )  # fmt: skip
        self._grant_publish(task.task_role)
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"], resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
            )
        )  # fmt: skip
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[self.tables["control"].table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["streamer-cursors"]}},
            )
        )  # fmt: skip
        task.task_role.add_to_principal_policy(  # rewrite the current span; read one back after a restart
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[self.bar_bucket.arn_for_objects(f"{BAR_PREFIX}/*")]
            )
        )
        self._allow_listing_bars(task.task_role)
        capacity = "FARGATE_SPOT" if self.settings.streamer_spot else "FARGATE"
        service = ecs.FargateService(
            self, "Streamer", cluster=cluster, task_definition=task, desired_count=1, assign_public_ip=True,
            capacity_provider_strategies=[ecs.CapacityProviderStrategy(capacity_provider=capacity, weight=1)],
            min_healthy_percent=0, max_healthy_percent=100,  # never two streamers at once
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )  # fmt: skip
        return service

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            f"{construct_id(spec.role)}Table",
            table_name=f"{self.settings.prefix}{spec.role}",
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=_ATTRIBUTE_TYPES[spec.sort_type])
            if spec.sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=RemovalPolicy.RETAIN,  # holdings outlive a stack deletion
        )

    def _function(
        self,
        id_: str,
        name: str,
        code: lambda_.Code,
        handler: str,
        environment: dict[str, str],
        *,
        max_event_age: Duration,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self, f"{id_}Logs", log_group_name=f"/aws/lambda/{name}", retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )  # fmt: skip
        function = lambda_.Function(
            self,
            id_,
            function_name=name,
            runtime=lambda_.Runtime.PYTHON_3_13,  # see packaging.LAMBDA_PYTHON
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            memory_size=self.settings.function_memory_mb,
            timeout=Duration.seconds(30),
            # strategies: PassThrough, traced only when the streamer sampled the batch (one minute an hour);
            # execution and reconciliation run a few times an hour and keep Lambda's own sampling
            tracing=tracing,
            log_group=log_group,
            # no reserved concurrency: a new account's quota of 10 leaves none to reserve; throttled events
            # wait in Lambda's own async queue (it retries throttles until max_event_age)
            on_failure=destinations.SqsDestination(self.watch.failed),
            retry_attempts=2,
            max_event_age=max_event_age,
            environment={
                "STDS_CONFIG": "strategies.toml",
                "STDS_TABLE_PREFIX": self.settings.prefix,
                ("STDS_EVENT_BUS" if self.bus is not None else "STDS_SNS_TOPIC_ARN"): self._bus_name(),
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "STDS",
                **environment,
            },
        )
        return function

    def _subscribe(self, id_: str, function: lambda_.Function, pattern: dict[str, Any]) -> None:
        """A rule with the pattern (EventBridge), or a subscription with the same selection as an SNS filter
        policy; either way what cannot be delivered lands in the stack's one `undelivered` queue."""
        undelivered = self.watch.undelivered.queue_arn
        if self.bus is not None:
            rule = events.Rule(self, f"{id_}Rule", event_bus=self.bus, event_pattern=event_pattern(pattern))
            rule.add_target(targets.LambdaFunction(function, retry_attempts=4, max_event_age=Duration.hours(2)))
            # set on the L1: the L2's dead_letter_queue adds a queue-policy statement per rule (see Watch.allow_bus)
            cfn_rule = rule.node.default_child
            assert isinstance(cfn_rule, events.CfnRule)
            cfn_rule.add_property_override("Targets.0.DeadLetterConfig.Arn", undelivered)
        else:
            assert self.topic is not None
            subscription = self.topic.add_subscription(
                subscriptions.LambdaSubscription(function, filter_policy=sns_filter_policy(pattern))
            )
            cfn_subscription = subscription.node.default_child
            assert isinstance(cfn_subscription, sns.CfnSubscription)
            cfn_subscription.add_property_override("RedrivePolicy", {"deadLetterTargetArn": undelivered})

    def _bus_name(self) -> str:
        if self.bus is not None:
            return self.bus.event_bus_name
        assert self.topic is not None
        return self.topic.topic_arn

    def _bus_option(self) -> list[str]:
        return ["--event-bus" if self.bus is not None else "--sns-topic", self._bus_name()]

    def _grant_publish(self, grantee: iam.IGrantable) -> None:
        if self.bus is not None:
            self.bus.grant_put_events_to(grantee)
        else:
            assert self.topic is not None
            self.topic.grant_publish(grantee)

    def _bar_bucket(self) -> s3.Bucket:
        """Where the streamer keeps recent bars (one object per exchange, timeframe and hour): named and kept
        like the tables, so the next deploy adopts it; its objects expire after `bar_retention_days`."""
        return s3.Bucket(
            self, "BarBucket", bucket_name=bar_bucket_name(self.settings.prefix, self.account, self.region),
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(self.settings.bar_retention_days))],
        )  # fmt: skip

    def _allow_listing_bars(self, role: iam.IRole | None) -> None:
        """Without ListBucket, S3 answers a GET of an hour not written yet with 403 instead of 404: the streamer
        would retry its first write of each hour forever, and a cold strategy would fail on it."""
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bar_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{BAR_PREFIX}/*"]}},
            )
        )

    def _grant_strategy(self, function: lambda_.Function, name: str) -> None:
        accounts, orders = self.tables["subaccounts"], self.tables["orders"]
        self._grant_publish(function)
        _allow(function, ["s3:GetObject"], [self.bar_bucket.arn_for_objects(f"{BAR_PREFIX}/*")])
        self._allow_listing_bars(function.role)
        # its own partition of sub-accounts only (the partition key is the strategy's name)
        _allow(
            function, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], [accounts.table_arn],
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [name]}},
        )  # fmt: skip
        _allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [orders.table_arn])

    def _grant_execution(self, function: lambda_.Function) -> None:
        tables = self.tables
        self._grant_publish(function)
        self.secret.grant_read(function)
        _allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["subaccounts"].table_arn])
        _allow(function, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [tables["orders"].table_arn])
        _allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["processed"].table_arn])
        _allow(function, ["dynamodb:GetItem"], [tables["control"].table_arn])


def sns_filter_policy(pattern: dict[str, Any]) -> dict[str, sns.SubscriptionFilter]:
    """The SNS bus's message attributes (events/sns_bus.py) select what an exact-match pattern selects."""
    from events.sns_bus import FILTER_ATTRIBUTES

    wanted: dict[str, list[str]] = {}
    for key, values in pattern.items():
        if key == "detail-type":
            wanted["detail_type"] = values
        elif key == "detail" and isinstance(values, dict):
            # a batch's `symbols` is its `symbol` attribute, a String.Array that SNS matches element by element
            fields = {("symbol" if k == "symbols" else k): v for k, v in values.items()}
            for field_name, allowed in fields.items():
                if field_name not in FILTER_ATTRIBUTES:
                    raise ValueError(f"pattern field detail.{field_name} is not an SNS message attribute")
                wanted[field_name] = allowed
        else:
            raise ValueError(f"pattern key {key!r} has no SNS message attribute; use the EventBridge bus")
    for name, allowed in wanted.items():
        if not isinstance(allowed, list) or not all(isinstance(value, str) for value in allowed):
            raise ValueError(f"{name}: only lists of exact strings translate to an SNS filter policy")
    return {name: sns.SubscriptionFilter.string_filter(allowlist=allowed) for name, allowed in wanted.items()}


def _cfn(construct: Construct) -> CfnElement:
    child = construct.node.default_child
    assert isinstance(child, CfnElement)
    return child


def _allow(
    function: lambda_.Function, actions: list[str], resources: list[str], conditions: dict[str, Any] | None = None
) -> None:
    function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions))
