"""One function per configured strategy, each invoked by its own rule (or subscription) with the minute batches
of the bars its declared pattern selects (`batch_pattern`). A strategy reads the bars the streamer keeps in
the bucket, reads and writes only its group's partitions of sub-accounts, records orders, and publishes.

The functions live in nested stacks, a group each, so that any number of strategies fits CloudFormation's 500
resources per stack: a strategy costs 4 resources (function, event invoke config, rule or subscription, and the
bus's permission to invoke it), and its group shares one role and one log group. A strategy's group is a hash of
its name, never its position in the file: adding or removing a line moves no other strategy, because
CloudFormation cannot move a named function from one stack to another in one update (the new stack would
create it while the old one still holds the name).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from aws_cdk import CfnResource, Duration, NestedStack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from events.minute_batches import batch_pattern
from infra.cdk.bar_bucket import BarBucket
from infra.cdk.functions import Functions, allow
from infra.cdk.lint_exceptions import accept
from infra.cdk.names import InvalidName, construct_id, function_name
from infra.config import StdsConfig
from infra.strategy_loader import bar_pattern

# Lambda keeps an async event through throttling and errors (2 retries) until this age, then sends it to the
# on-failure queue: a bar decided an hour late still lands in its window.
STRATEGY_MAX_EVENT_AGE = Duration.hours(1)
GROUPS = 20  # nested stacks at most; 500 strategies make ~25 a group
RESOURCES_PER_STRATEGY = 4
GROUP_LIMIT = 100  # strategies in one group: 400 resources and the group's 6, well under CloudFormation's 500


def group_of(name: str) -> int:
    """The nested stack a strategy lives in: a hash of its name only (Python's own hash() differs per run)."""
    return zlib.crc32(name.encode()) % GROUPS


def groups(names: list[str]) -> dict[int, list[str]]:
    """The strategies of each group that has any, by group number; a group over GROUP_LIMIT fails the synth."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for name in names:
        grouped[group_of(name)].append(name)
    for group, members in grouped.items():
        if len(members) > GROUP_LIMIT:
            raise InvalidName(
                f"strategy group {group:02} would hold {len(members)} strategies; a group holds {GROUP_LIMIT} "
                f"({RESOURCES_PER_STRATEGY} resources each, under CloudFormation's 500 per stack): deploy the "
                "strategies file in two parts under two --prefix values"
            )
    return dict(sorted(grouped.items()))


def strategy_functions(
    functions: Functions,
    config: StdsConfig,
    code: Path,
    *,
    tables: dict[str, dynamodb.Table],
    bars: BarBucket,
    undelivered: sqs.Queue,
) -> dict[str, lambda_.Function]:
    """The functions by strategy name, in their groups' nested stacks."""
    made = {}
    for group, names in groups(list(config.strategies)).items():
        nested = NestedStack(
            functions.stack,
            f"Strategies{group:02}",
            description=f"STDS strategy functions, group {group:02} of {GROUPS}: {len(names)} strategies",
        )
        in_group = replace(functions, stack=nested)
        role = _group_role(in_group, names, tables=tables, bars=bars)
        log_group = in_group.log_group("Logs", f"/aws/lambda/{functions.prefix}strategies-{group:02}")
        asset = lambda_.Code.from_asset(str(code))  # one per stack (CDK's rule); one object in S3 all the same
        for name in names:
            id_ = f"Strategy{construct_id(name)}"
            function = in_group.function(
                id_,
                function_name(functions.prefix, f"strategy-{name}"),
                asset,
                "infra.aws.handlers.strategy.handler",
                {"STDS_STRATEGY": name, "STDS_BAR_BUCKET": bars.bucket.bucket_name},
                max_event_age=STRATEGY_MAX_EVENT_AGE,
                tracing=lambda_.Tracing.PASS_THROUGH,
                role=role,
                log_group=log_group,
            )
            assert isinstance(function.node.default_child, CfnResource)
            accept(function.node.default_child, "WS1004")
            pattern = batch_pattern(bar_pattern(config.strategies[name]))
            functions.channel.subscribe(id_, function, pattern, undelivered)
            made[name] = function
    return made


def _group_role(
    functions: Functions, names: list[str], *, tables: dict[str, dynamodb.Table], bars: BarBucket
) -> iam.Role:
    """What the group's strategies may do: read bars, publish, record orders, and touch the sub-accounts of
    these strategies only (the partition key is the strategy's name)."""
    role = iam.Role(
        functions.stack,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")],
    )
    functions.channel.grant_publish(role)
    bars.allow(role, ["s3:GetObject"])
    allow(
        role,
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        [tables["subaccounts"].table_arn],
        {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(names)}},
    )
    allow(role, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["orders"].table_arn])
    return role
