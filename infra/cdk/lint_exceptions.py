"""Linter findings this design accepts, each with its reason: cdk-nag's AwsSolutions checks (run on synth), and
cfn-lint serverless-rules, written into the template's resource metadata where cfn-lint reads them (`make test`
lints both bus variants and allows no other error)."""

from __future__ import annotations

from aws_cdk import CfnElement, CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

from events.bar_archive import PREFIX as BAR_PREFIX

NAG_REASONS = {
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

REASONS = {
    "ES1007": "the function has an EventInvokeConfig with an on-failure destination, naming the function by Ref; "
    "the rule only matches a config whose FunctionName is the permission's own GetAtt Arn expression",
    "ES6000": "this queue is itself where failures end (a dead-letter queue or on-failure destination), read by "
    "stds dlq and alarmed on its depth",
    "WS1000": "a strategy function traces in PassThrough mode: the streamer samples one minute batch an hour (an X-Ray "
    "trace header on its PutEvents entry), so a trace follows a whole minute instead of Lambda tracing every call",
    "WS1004": "a strategy function logs to the log group its group shares (LoggingConfig), kept a month, instead of a "
    "/aws/lambda/NAME group of its own: 500 strategies would otherwise be 500 more resources",
    "ES7000": "an alarm e-mail that cannot be delivered has nowhere better to go; the alarm stays visible in "
    "CloudWatch, and a dead letter of it could only alarm again through the same topic",
}


def explain_nag_findings(stack: Stack, bar_bucket: s3.Bucket) -> None:
    """cdk-nag AwsSolutions findings this design accepts, each with its reason."""
    suppressions = [NagPackSuppression(id=rule, reason=reason) for rule, reason in NAG_REASONS.items()]
    suppressions.append(
        NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="X-Ray (xray:PutTraceSegments), ECR (ecr:GetAuthorizationToken) and CloudWatch "
            "(cloudwatch:PutMetricData, limited to its namespace) accept no resource but '*'; every "
            "DynamoDB, EventBridge and Secrets Manager grant names its resource",
            applies_to=["Resource::*"],
        )
    )
    bucket = bar_bucket.node.default_child
    assert isinstance(bucket, CfnElement)
    suppressions.append(
        NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="the bar bucket's objects are one per exchange, timeframe and hour, named as they are written: "
            "the grant is limited to the bars/ prefix and to GetObject (strategies) or Get/PutObject (streamer)",
            # the bucket's ARN in this stack, or the parameter a strategy group's nested stack receives it by
            applies_to=[
                f"Resource::<{stack.resolve(stack.get_logical_id(bucket))}.Arn>/{BAR_PREFIX}/*",
                RegexAppliesTo(
                    regex=f"/^Resource::<referenceto\\w*{bar_bucket.node.id}[0-9A-F]{{8}}Arn>\\/{BAR_PREFIX}\\/\\*$/"
                ),
            ],
        )
    )
    NagSuppressions.add_stack_suppressions(stack, suppressions, apply_to_nested_stacks=True)


def accept(resource: CfnResource, rule: str) -> None:
    assert rule in REASONS, rule
    metadata = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    metadata["config"]["ignore_checks"] = sorted({*metadata["config"]["ignore_checks"], rule})
    resource.add_metadata("cfn-lint", metadata)


def accept_known_findings(stack: Stack, queues: list[sqs.Queue], topic: sns.Topic) -> None:
    """ES1007 is accepted only where the function really has an on-failure destination, in the stack and in its
    nested stacks (each resolved in its own template)."""
    children = stack.node.find_all()
    configured = {
        (Stack.of(child).node.path, Stack.of(child).resolve(child.function_name)["Ref"])
        for child in children
        if isinstance(child, lambda_.CfnEventInvokeConfig) and child.destination_config is not None
    }
    for child in children:
        if isinstance(child, lambda_.CfnPermission):  # the bus's or topic's permission to invoke a function
            owner = Stack.of(child)
            named = owner.resolve(child.function_name)
            if isinstance(named, dict) and (owner.node.path, named.get("Fn::GetAtt", [None])[0]) in configured:
                accept(child, "ES1007")
        elif isinstance(child, lambda_.CfnFunction) and Stack.of(child).resolve(child.tracing_config) == {
            "mode": "PassThrough"
        }:
            accept(child, "WS1000")
    for queue in queues:
        assert isinstance(queue.node.default_child, CfnResource)
        accept(queue.node.default_child, "ES6000")
    for child in topic.node.find_all():
        if isinstance(child, sns.CfnSubscription):
            accept(child, "ES7000")
