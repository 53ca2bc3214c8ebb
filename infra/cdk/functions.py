"""The shape every function of the stack shares: ARM64 Python, a month of logs, Lambda's two retries then the
failure queue, the settings every handler reads (infra/aws/handlers/environment.py), and grants one by one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from infra.cdk.channel import Channel


@dataclass(frozen=True)
class Functions:
    stack: Stack
    prefix: str
    memory_mb: int
    channel: Channel
    failed: sqs.Queue  # every function's on-failure destination (infra/cdk/watch.py)

    def function(
        self,
        id_: str,
        name: str,
        code: lambda_.Code,
        handler: str,
        environment: dict[str, str],
        *,
        max_event_age: Duration,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
        role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> lambda_.Function:
        """A function with its own role and log group, or the ones it shares with its group."""
        return lambda_.Function(
            self.stack,
            id_,
            function_name=name,
            runtime=lambda_.Runtime.PYTHON_3_13,  # see packaging.LAMBDA_PYTHON
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            memory_size=self.memory_mb,
            timeout=Duration.seconds(30),
            # strategies: PassThrough, traced only when the streamer sampled the batch (one minute an hour);
            # execution and reconciliation run a few times an hour and keep Lambda's own sampling
            tracing=tracing,
            role=role,
            log_group=log_group or self.log_group(f"{id_}Logs", f"/aws/lambda/{name}"),
            # no reserved concurrency: a new account's quota of 10 leaves none to reserve; throttled events
            # wait in Lambda's own async queue (it retries throttles until max_event_age)
            on_failure=destinations.SqsDestination(self.failed),
            retry_attempts=2,
            max_event_age=max_event_age,
            environment={
                "STDS_CONFIG": "strategies.toml",
                "STDS_TABLE_PREFIX": self.prefix,
                self.channel.variable: self.channel.name,
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "STDS",
                **environment,
            },
        )

    def log_group(self, id_: str, name: str) -> logs.LogGroup:
        return logs.LogGroup(
            self.stack,
            id_,
            log_group_name=name,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )


def allow(
    grantee: iam.IGrantable, actions: list[str], resources: list[str], conditions: dict[str, Any] | None = None
) -> None:
    """One statement on the role of `grantee` (a function, or a role its group shares)."""
    statement = iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
    grantee.grant_principal.add_to_principal_policy(statement)
