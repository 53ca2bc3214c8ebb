"""Execution and reconciliation: the function that trades each OrderRequested, the scheduled reconciler that
compares the book with the exchange account (alarmed on any difference it cannot explain), and the exchange
keys' secret, which only these two read. Both trade nothing until their STDS_BROKER is ccxt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager

from consumers.execution.ccxt_broker import SECRET_TEMPLATE
from consumers.execution.consumer import FUNCTION_PATTERN
from infra.cdk.functions import Functions, allow
from infra.cdk.names import function_name
from infra.cdk.watch import Watch

# An order placed 15 minutes after it was asked for would trade at a price nobody decided on: older ones wait in
# the failure queue for `stds dlq redrive` instead.
EXECUTION_MAX_EVENT_AGE = Duration.minutes(15)


@dataclass(frozen=True)
class Execution:
    secret: secretsmanager.Secret
    function: lambda_.Function
    reconciliation: lambda_.Function


def execution(
    functions: Functions, code: Path, *, tables: dict[str, dynamodb.Table], watch: Watch, reconcile_every_min: float
) -> Execution:
    stack, prefix = functions.stack, functions.prefix
    # kept like the tables, and adopted again by the next deploy (stds deploy imports existing resources)
    secret = secretsmanager.Secret(
        stack,
        "ExchangeKeys",
        secret_name=f"{prefix}exchange-keys",
        description='exchange API keys for the ccxt broker: {"apiKey": "...", "secret": "..."}',
        secret_string_value=SecretValue.unsafe_plain_text(SECRET_TEMPLATE),
        removal_policy=RemovalPolicy.RETAIN,
    )
    broker = {"STDS_BROKER": "paper", "STDS_EXCHANGE_SECRET_ID": secret.secret_arn}
    function = functions.function(
        "Execution",
        function_name(prefix, "execution"),
        lambda_.Code.from_asset(str(code)),
        "infra.aws.handlers.execution.handler",
        broker,
        max_event_age=EXECUTION_MAX_EVENT_AGE,
    )
    functions.channel.grant_publish(function)
    secret.grant_read(function)
    # Scan: the positions a flatten closes
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], [tables["subaccounts"].table_arn])
    # PutItem: a flatten's closing orders are placed by execution itself
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [tables["orders"].table_arn])
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["processed"].table_arn])
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["control"].table_arn])  # flatten → halt
    functions.channel.subscribe("Execution", function, FUNCTION_PATTERN, watch.undelivered)
    reconciliation = _reconciliation(
        functions, code, broker, tables=tables, secret=secret, every_min=reconcile_every_min
    )
    _alarm_on_differences(watch)
    return Execution(secret, function, reconciliation)


def _reconciliation(
    functions: Functions,
    code: Path,
    broker: dict[str, str],
    *,
    tables: dict[str, dynamodb.Table],
    secret: secretsmanager.Secret,
    every_min: float,
) -> lambda_.Function:
    """The reconciler on a schedule (EventBridge Scheduler); it may settle orders and engage the kill switch."""
    stack = functions.stack
    name = function_name(functions.prefix, "reconciliation")
    minutes = max(1, round(every_min))
    function = functions.function(
        "Reconciliation",
        name,
        lambda_.Code.from_asset(str(code)),
        "infra.aws.handlers.reconciliation.handler",
        broker,
        max_event_age=Duration.minutes(minutes),  # the next scheduled run supersedes an older one
    )
    functions.channel.grant_publish(function)
    secret.grant_read(function)
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], [tables["subaccounts"].table_arn])
    allow(function, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Scan"], [tables["orders"].table_arn])
    allow(function, ["dynamodb:GetItem", "dynamodb:PutItem"], [tables["control"].table_arn])
    invoker = iam.Role(stack, "ReconciliationScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
    invoker.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
    scheduler.CfnSchedule(
        stack,
        "ReconciliationSchedule",
        name=name,
        schedule_expression=f"rate({minutes} minute{'s' * (minutes > 1)})",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(
            arn=function.function_arn,
            role_arn=invoker.role_arn,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),  # the next run retries
        ),
    )
    return function


def _alarm_on_differences(watch: Watch) -> None:
    problems = cloudwatch.Metric(
        namespace="STDS",
        metric_name="ReconciliationProblems",
        statistic="Maximum",
        period=Duration.minutes(5),
        dimensions_map={"service": "stds-reconciliation"},
    )
    watch.alarm_on_any("ReconciliationDiffers", "the exchange and the book differ (trading halted)", problems)
