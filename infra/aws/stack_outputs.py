"""The outputs a deployed stack publishes, by key: written by the CDK app, read by `stds` commands through
CloudFormation. One home that imports no CDK, so a command reading them starts no Node."""

from __future__ import annotations

from typing import Any

FAILED_OUTPUT = "FailedInvocationsQueueUrl"  # every function's on-failure queue
UNDELIVERED_OUTPUT = "UndeliveredQueueUrl"  # the rules' and subscriptions' dead-letter queue
ALARM_TOPIC_OUTPUT = "AlarmTopicArn"
BUS_OUTPUT = "EventBus"  # the event bus's name, with stds:bus=eventbridge
TOPIC_OUTPUT = "Topic"  # the SNS topic's ARN, with stds:bus=sns


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The deployed stack's outputs (queue URLs, bus); a clear error when there is no such stack."""
    from botocore.exceptions import ClientError

    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise LookupError(
            f"no stack {stack_name} here ({error.response['Error']['Message']}): check --prefix and --region"
        ) from None
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
