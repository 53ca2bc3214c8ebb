"""SweepStack (`stds deploy --sweeps`): the bucket, the sweep function and the state machine of `stds sweep --aws`,
in a stack of their own, beside the trading stack and sharing nothing with it.

- The bucket holds each sweep under `sweeps/ID/` (definition, bars, manifest, items, results); a sweep is
  research output, so its objects expire after a month and the bucket goes with the stack.
- The function is the sweep Lambda (infra/aws/handlers/sweep.py): 1,769 MB, one full vCPU, since its work is
  CPU; a child is sized to about a minute and the timeout allows five. It reads and writes only `sweeps/*`.
- The state machine (infra/aws/sweep_machine.py) is Standard; its role may read and write `sweeps/*`, invoke
  the function, and run and watch its own map's children.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.aws.sweep_machine import run_items_state, sweep_definition
from infra.cdk.names import check_prefix, function_name

SWEEP_PREFIX = "sweeps"
FUNCTION_MB = 1769  # one full vCPU (infra/cost/sweep.py prices the same)
NAG_REASONS = {
    "AwsSolutions-S1": "the sweep bucket holds research inputs and outputs the command line writes and reads; "
    "access logs would cost more than the sweeps",
    "AwsSolutions-IAM4": "AWSLambdaBasicExecutionRole only lets the function write its own logs",
    "AwsSolutions-L1": "Python 3.13, the runtime every STDS function is built for (infra/cdk/packaging.py)",
    "AwsSolutions-SF1": "the sweep's outcome is in S3 (results, failure.json) and in the execution history; "
    "logging every child's events would cost more than the sweep",
    "AwsSolutions-SF2": "X-Ray on a thousand short children would cost more than the sweep",
}


def sweeps_stack_name(prefix: str) -> str:
    return "StdsSweeps" if prefix == "stds-" else f"StdsSweeps-{check_prefix(prefix).removesuffix('-')}"


def sweep_machine_name(prefix: str) -> str:
    return f"{prefix}sweeps"


class SweepStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, prefix: str, code: Path, **kwargs: Any) -> None:
        super().__init__(scope, id_, **kwargs)
        check_prefix(prefix)
        self.bucket = s3.Bucket(
            self,
            "SweepBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
        )
        objects = self.bucket.arn_for_objects(f"{SWEEP_PREFIX}/*")
        name = function_name(prefix, "sweep")
        self.function = lambda_.Function(
            self,
            "SweepFunction",
            function_name=name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler="infra.aws.handlers.sweep.handler",
            code=lambda_.Code.from_asset(str(code)),
            memory_size=FUNCTION_MB,
            timeout=Duration.minutes(5),
            log_group=logs.LogGroup(
                self,
                "SweepFunctionLogs",
                log_group_name=f"/aws/lambda/{name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[objects])
        )
        definition = sweep_definition(run_items_state(self.function.function_arn), self.bucket.bucket_name)
        self.machine = sfn.StateMachine(
            self,
            "SweepMachine",
            state_machine_name=sweep_machine_name(prefix),
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(definition)),
            timeout=Duration.hours(2),
        )
        role = self.machine.role
        self.function.grant_invoke(role)
        # the item reader's GET, the result writer's (multipart) PUT, the failure's PUT: all under sweeps/
        writer = ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
        role.add_to_principal_policy(iam.PolicyStatement(actions=writer, resources=[objects]))
        # the Distributed Map runs and watches its own children, and lists nothing else
        machine_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=sweep_machine_name(prefix),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        execution_arn = self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{sweep_machine_name(prefix)}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"], resources=[execution_arn])
        )
        CfnOutput(self, "SweepBucketName", value=self.bucket.bucket_name)  # where stds sweep --aws finds them
        CfnOutput(self, "SweepMachineArn", value=self.machine.state_machine_arn)
        self._explain(objects)

    def _explain(self, objects: str) -> None:
        suppressions = [NagPackSuppression(id=rule, reason=reason) for rule, reason in NAG_REASONS.items()]
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="a sweep's objects are named per sweep and item as they are written: the grants are limited "
                "to the sweeps/ prefix of the stack's own bucket, the map's children to its own executions, and "
                "invoking the function to its versions",
            )
        )
        NagSuppressions.add_stack_suppressions(self, suppressions)
