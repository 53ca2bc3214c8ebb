"""One function per configured strategy, each invoked by its own rule (or subscription) with the minute batches
of the bars its declared pattern selects (`batch_pattern`). A strategy reads the bars the streamer keeps in
the bucket, reads and writes only its own partition of sub-accounts, records orders, and publishes."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from events.minute_batches import batch_pattern
from infra.cdk.bar_bucket import BarBucket
from infra.cdk.functions import Functions, allow
from infra.cdk.names import construct_id, function_name
from infra.config import StdsConfig
from infra.strategy_loader import bar_pattern

# Lambda keeps an async event through throttling and errors (2 retries) until this age, then sends it to the
# on-failure queue: a bar decided an hour late still lands in its window.
STRATEGY_MAX_EVENT_AGE = Duration.hours(1)


def strategy_functions(
    functions: Functions,
    config: StdsConfig,
    code: Path,
    *,
    tables: dict[str, dynamodb.Table],
    bars: BarBucket,
    undelivered: sqs.Queue,
) -> dict[str, lambda_.Function]:
    """The functions by strategy name."""
    asset = lambda_.Code.from_asset(str(code))
    made = {}
    for name, line in config.strategies.items():
        id_ = f"Strategy{construct_id(name)}"
        function = functions.function(
            id_,
            function_name(functions.prefix, f"strategy-{name}"),
            asset,
            "infra.aws.handlers.strategy.handler",
            {"STDS_STRATEGY": name, "STDS_BAR_BUCKET": bars.bucket.bucket_name},
            max_event_age=STRATEGY_MAX_EVENT_AGE,
            tracing=lambda_.Tracing.PASS_THROUGH,
        )
        functions.channel.grant_publish(function)
        bars.allow(function.role, ["s3:GetObject"])
        # its own partition of sub-accounts only (the partition key is the strategy's name)
        allow(
            function,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            [tables["subaccounts"].table_arn],
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [name]}},
        )
        allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["orders"].table_arn])
        functions.channel.subscribe(id_, function, batch_pattern(bar_pattern(line)), undelivered)
        made[name] = function
    return made
