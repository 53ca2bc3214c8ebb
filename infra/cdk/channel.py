"""Where the stack's events travel: an EventBridge bus with an archive of the minute batches, or an SNS topic with
filter policies. The one place the stack tells the two apart; functions, rules, grants and the streamer's
options all ask the channel.

Both select with the same pattern the local bus routes with (events/patterns.py): as a rule's event pattern, or
translated to a subscription's filter policy over the SNS bus's message attributes (events/sns_bus.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from infra.aws.stack_outputs import BUS_OUTPUT, TOPIC_OUTPUT
from infra.cdk.watch import Watch

PATTERN_FIELDS = {
    "detail-type": "detail_type",
    "detail": "detail",
    "source": "source",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


class Channel(Protocol):
    variable: str  # the functions' environment variable naming it (infra/aws/handlers/environment.py)
    option: str  # the `stds stream` option naming it
    name: str  # the bus's name or the topic's ARN

    def grant_publish(self, grantee: iam.IGrantable) -> None: ...

    def subscribe(self, id_: str, function: lambda_.Function, pattern: dict[str, Any], undelivered: sqs.Queue) -> None:
        """Deliver what `pattern` selects to `function`; what cannot be delivered lands in `undelivered`."""
        ...


def open_channel(stack: Stack, kind: str, prefix: str, *, archive_days: int, watch: Watch) -> Channel:
    """The bus (`eventbridge`) or topic (`sns`), allowed to put what it cannot deliver in the watch's queue."""
    if kind == "eventbridge":
        channel: BusChannel | TopicChannel = BusChannel(stack, prefix, archive_days)
    elif kind == "sns":
        channel = TopicChannel(stack, prefix)
    else:
        raise ValueError(f"stds:bus={kind!r}: expected eventbridge or sns")
    watch.allow_bus(*channel.delivered_by())
    CfnOutput(stack, "BusOutput", key=channel.output_key, value=channel.name)
    return channel


class BusChannel:
    variable, option, output_key = "STDS_EVENT_BUS", "--event-bus", BUS_OUTPUT

    def __init__(self, stack: Stack, prefix: str, archive_days: int) -> None:
        self.stack = stack
        self.bus = events.EventBus(stack, "Bus", event_bus_name=f"{prefix}bus")
        self.bus.archive(
            "BarArchive",
            archive_name=f"{prefix}bars",
            description="every minute batch of bars (BarsClosed), for stds replay --archive",
            event_pattern=events.EventPattern(detail_type=["BarsClosed"]),
            retention=Duration.days(archive_days),
        )
        self.name = self.bus.event_bus_name

    def delivered_by(self) -> tuple[str, str]:
        rules = self.stack.format_arn(service="events", resource="rule", resource_name=f"{self.name}/*")
        return "events.amazonaws.com", rules

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        self.bus.grant_put_events_to(grantee)

    def subscribe(self, id_: str, function: lambda_.Function, pattern: dict[str, Any], undelivered: sqs.Queue) -> None:
        # in the function's own stack: a strategy's rule lives in its group's nested stack
        scope = Stack.of(function)
        rule = events.Rule(scope, f"{id_}Rule", event_bus=self.bus, event_pattern=event_pattern(pattern))
        rule.add_target(targets.LambdaFunction(function, retry_attempts=4, max_event_age=Duration.hours(2)))
        # set on the L1: the L2's dead_letter_queue adds a queue-policy statement per rule (see Watch.allow_bus)
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override("Targets.0.DeadLetterConfig.Arn", undelivered.queue_arn)


class TopicChannel:
    variable, option, output_key = "STDS_SNS_TOPIC_ARN", "--sns-topic", TOPIC_OUTPUT

    def __init__(self, stack: Stack, prefix: str) -> None:
        self.topic = sns.Topic(
            stack,
            "Topic",
            topic_name=f"{prefix}events",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(stack, "SnsKey", "alias/aws/sns"),
        )
        self.name = self.topic.topic_arn

    def delivered_by(self) -> tuple[str, str]:
        return "sns.amazonaws.com", self.name

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        self.topic.grant_publish(grantee)

    def subscribe(self, id_: str, function: lambda_.Function, pattern: dict[str, Any], undelivered: sqs.Queue) -> None:
        # written out in the function's own stack (a strategy's group): the L2 LambdaSubscription would make a
        # nested stack depend on its parent
        scope = Stack.of(function)
        function.add_permission(
            f"{id_}Topic", principal=iam.ServicePrincipal("sns.amazonaws.com"), source_arn=self.topic.topic_arn
        )
        sns.CfnSubscription(
            scope,
            f"{id_}Subscription",
            topic_arn=self.topic.topic_arn,
            protocol="lambda",
            endpoint=function.function_arn,
            filter_policy=sns_filter_policy(pattern),
            redrive_policy={"deadLetterTargetArn": undelivered.queue_arn},
        )


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The same pattern the local bus routes with, as CDK's EventPattern (unknown keys are an error)."""
    unknown = set(pattern) - set(PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"event pattern keys {sorted(unknown)} are not EventBridge envelope fields")
    return events.EventPattern(**{PATTERN_FIELDS[key]: value for key, value in pattern.items()})


def sns_filter_policy(pattern: dict[str, Any]) -> dict[str, list[str]]:
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
    return wanted
