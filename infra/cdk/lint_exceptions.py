"""cfn-lint serverless-rules findings this design accepts, each with its reason, written into the template's
resource metadata where cfn-lint reads them (`make test` lints both bus variants and allows no other error)."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

REASONS = {
    "ES1007": "the function has an EventInvokeConfig with an on-failure destination, naming the function by Ref; "
    "the rule only matches a config whose FunctionName is the permission's own GetAtt Arn expression",
    "ES6000": "this queue is itself where failures end (a dead-letter queue or on-failure destination), read by "
    "stds dlq and alarmed on its depth",
    "WS1000": "a strategy function traces in PassThrough mode: the streamer samples one minute batch an hour (an X-Ray "
    "trace header on its PutEvents entry), so a trace follows a whole minute instead of Lambda tracing every call",
    "ES7000": "an alarm e-mail that cannot be delivered has nowhere better to go; the alarm stays visible in "
    "CloudWatch, and a dead letter of it could only alarm again through the same topic",
}


def accept(resource: CfnResource, rule: str) -> None:
    assert rule in REASONS, rule
    metadata = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    metadata["config"]["ignore_checks"] = sorted({*metadata["config"]["ignore_checks"], rule})
    resource.add_metadata("cfn-lint", metadata)


def accept_known_findings(stack: Stack, queues: list[sqs.Queue], topic: sns.Topic) -> None:
    """ES1007 is accepted only where the function really has an on-failure destination."""
    configured = {
        stack.resolve(child.function_name)["Ref"]
        for child in stack.node.find_all()
        if isinstance(child, lambda_.CfnEventInvokeConfig) and child.destination_config is not None
    }
    for child in stack.node.find_all():
        if isinstance(child, lambda_.CfnPermission):  # the bus's or topic's permission to invoke a function
            named = stack.resolve(child.function_name)
            if isinstance(named, dict) and named.get("Fn::GetAtt", [None])[0] in configured:
                accept(child, "ES1007")
    for queue in queues:
        assert isinstance(queue.node.default_child, CfnResource)
        accept(queue.node.default_child, "ES6000")
    for child in stack.node.find_all():
        if isinstance(child, lambda_.CfnFunction) and stack.resolve(child.tracing_config) == {"mode": "PassThrough"}:
            accept(child, "WS1000")
    for child in topic.node.find_all():
        if isinstance(child, sns.CfnSubscription):
            accept(child, "ES7000")
