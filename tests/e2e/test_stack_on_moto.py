"""The synthesized stack created on moto's CloudFormation server, as `cdk deploy` would: the bootstrap's
version parameter and asset bucket, the Lambda code and template published to it, then CreateStack from the
template's URL. Then `stds dlq` finds the failure queues through the stack's outputs, and a destroy keeps
the tables with the holdings in them.

What moto's CloudFormation cannot do, and the only changes made to its copy of the template:
- it has no AWS::SecretsManager::Secret: the secret is created through Secrets Manager's API as declared
  (name, JSON template) and the template's references point at its ARN;
- `Ref` of an AWS::Events::EventBus yields moto's object instead of the bus name: the name is written in;
- an AWS::Events::Archive's EventPattern must be a JSON string there (CloudFormation takes either form).
Around the template: moto leaves the internet gateway attached at DeleteStack, so the test detaches it; and it
cannot run a Lambda function without Docker, so for the redrive the rules' function targets become a queue.
The strategy groups' nested stacks are read from the asset bucket like CloudFormation's; moto names a nested stack
by its logical id alone and replaces it on update (deleting every stack of that name), so each test that deploys
destroys its stack before the next one deploys on the same server.
It skips, with a warning, the types it does not implement (alarms, EventInvokeConfig, SNS subscriptions,
queue and topic policies): those are proven on the synthesized template (tests/unit/infra/test_cdk_stack.py).
CloudFormation's import of existing resources (`stds deploy` passes --import-existing-resources) has no
moto counterpart either: the second deploy after a destroy is CloudFormation's own, so this test stops at
what the destroy leaves behind.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from events.codec import from_dict
from events.envelope import wrap
from events.minute_batches import batches_of
from infra.cdk.app import build_stack
from infra.cdk.names import stack_name
from infra.cdk.settings import StackSettings
from infra.cli import main
from tests.conftest import REPO_ROOT, spot_day_bars
from tests.unit.infra.cdk_templates import many_strategies

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's
BOOTSTRAP_QUALIFIER = "hnb659fds"  # the CDK default synthesizer's


def client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)  # type: ignore[call-overload]


def replace_refs(node: Any, logical_id: str, value: Any) -> Any:
    if isinstance(node, dict):
        if node == {"Ref": logical_id}:
            return value
        return {key: replace_refs(item, logical_id, value) for key, item in node.items()}
    if isinstance(node, list):
        return [replace_refs(item, logical_id, value) for item in node]
    return node


def for_moto(template: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Only the three changes the module docstring lists."""
    secrets = client("secretsmanager", endpoint)
    for logical_id, resource in list(template["Resources"].items()):
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SecretsManager::Secret":
            try:
                arn = secrets.create_secret(
                    Name=properties["Name"],
                    SecretString=properties["SecretString"],
                    Description=properties["Description"],
                )["ARN"]
            except secrets.exceptions.ResourceExistsException:  # an update: CloudFormation would keep it
                arn = secrets.describe_secret(SecretId=properties["Name"])["ARN"]
            del template["Resources"][logical_id]
            template = replace_refs(template, logical_id, arn)
        elif resource["Type"] == "AWS::Events::EventBus":
            template = replace_refs(template, logical_id, properties["Name"])
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Events::Archive":
            resource["Properties"]["EventPattern"] = json.dumps(resource["Properties"]["EventPattern"])
    return template


def publish(assembly: Path, name: str, endpoint: str) -> str:
    """What `cdk bootstrap` leaves and `cdk deploy` publishes: the Lambda code zipped, and the templates (the
    stack's and its strategy groups' nested stacks, which CloudFormation reads from the asset bucket at the
    path the stack's template names). The stack template's URL."""
    client("ssm", endpoint).put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True
    )
    s3 = client("s3", endpoint)
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{REGION}"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    template_url = ""
    for asset in json.loads((assembly / f"{name}.assets.json").read_text())["files"].values():
        (destination,) = asset["destinations"].values()
        source = assembly / asset["source"]["path"]
        if asset["source"]["packaging"] == "zip":
            body = io.BytesIO()
            with zipfile.ZipFile(body, "w") as archive:
                for path in sorted(source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(source))
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body.getvalue())
        else:
            template = for_moto(json.loads(source.read_text()), endpoint)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=json.dumps(template).encode())
            if source.name == f"{name}.template.json":
                template_url = f"https://s3.{REGION}.amazonaws.com/{bucket}/{destination['objectKey']}"
    assert template_url
    return template_url


def deploy(assembly: Path, name: str, endpoint: str) -> None:
    """The assets published, then CreateStack, or UpdateStack when the stack is there."""
    cloudformation = client("cloudformation", endpoint)
    template_url = publish(assembly, name, endpoint)
    existing = [s for s in cloudformation.list_stacks()["StackSummaries"] if s["StackName"] == name]
    change = (
        cloudformation.update_stack
        if any(s["StackStatus"] != "DELETE_COMPLETE" for s in existing)
        else cloudformation.create_stack
    )
    change(StackName=name, TemplateURL=template_url, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])


def destroy(name: str, endpoint: str) -> None:
    """DeleteStack; moto leaves the internet gateway attached (its VPCGatewayAttachment has no delete), so the
    VPC cannot go: detach it as CloudFormation would, and delete again."""
    from botocore.exceptions import ClientError

    cloudformation, ec2 = client("cloudformation", endpoint), client("ec2", endpoint)
    try:
        cloudformation.delete_stack(StackName=name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "DependencyViolation", error
        tagged = [{"Name": "tag:aws:cloudformation:stack-name", "Values": [name]}]
        for gateway in ec2.describe_internet_gateways(Filters=tagged)["InternetGateways"]:
            for attachment in gateway["Attachments"]:
                ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"])
        cloudformation.delete_stack(StackName=name)


def queue_instead_of_functions(endpoint: str, bus: str, rules: list[str], watched: str) -> str:
    """moto cannot run a Lambda function without Docker: the rules' function targets are removed, and the rule
    whose name contains `watched` gets a queue to look in instead; its URL."""
    events, sqs = client("events", endpoint), client("sqs", endpoint)
    for rule in rules:
        ids = [target["Id"] for target in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]]
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=ids)
    url = sqs.create_queue(QueueName=f"{bus}-seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (rule,) = [rule for rule in rules if watched in rule]
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "seen", "Arn": arn}])
    return str(url)


@pytest.fixture
def deployed(moto_endpoint: str, tmp_path: Path) -> tuple[str, str]:
    """The example strategies deployed under a prefix of their own; (prefix, stack name)."""
    folder = tmp_path
    prefix = f"m{uuid.uuid4().hex[:6]}-"
    app = cdk.App(outdir=str(folder / "cdk.out"))
    stack = build_stack(
        app, REPO_ROOT / "strategies.example.toml", folder / "build", with_dependencies=False,
        settings=StackSettings(prefix=prefix),
    )  # fmt: skip
    app.synth()
    assert stack.stack_name == stack_name(prefix)
    deploy(folder / "cdk.out", stack.stack_name, moto_endpoint)
    return prefix, stack.stack_name


def test_moto_creates_the_stack_stds_dlq_finds_its_queues_and_a_destroy_keeps_the_holdings(
    deployed: tuple[str, str],
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One deployment for all three (a deploy costs ~20 s of CPU): created, read by stds dlq, destroyed."""
    prefix, name = deployed
    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["EventBus"] == f"{prefix}bus"
    tables = set(client("dynamodb", moto_endpoint).list_tables()["TableNames"])
    assert {f"{prefix}{role}" for role in ("subaccounts", "orders", "processed", "control")} <= tables
    functions = {f["FunctionName"] for f in client("lambda", moto_endpoint).list_functions()["Functions"]}
    assert {f"{prefix}execution", f"{prefix}strategy-sma_btc"} <= functions
    sqs = client("sqs", moto_endpoint)
    for key in ("FailedInvocationsQueueUrl", "UndeliveredQueueUrl"):
        queue_name = outputs[key].rsplit("/", 1)[1]
        assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"].endswith(queue_name)
    rules = client("events", moto_endpoint).list_rules(EventBusName=f"{prefix}bus")["Rules"]
    ours = [rule for rule in rules if not rule["Name"].startswith("Events-Archive-")]  # the archive's own rule
    assert len(ours) == 6  # five strategies of the example, and execution

    # stds dlq reads the failure queues' URLs from the stack's outputs
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    (bar,) = batches_of(spot_day_bars(1))
    record = {
        "requestContext": {"functionArn": "strategy-sma_btc", "condition": "RetriesExhausted"},
        "requestPayload": wrap(bar).to_json_dict(),
    }
    sqs.send_message(QueueUrl=outputs["FailedInvocationsQueueUrl"], MessageBody=json.dumps(record))
    assert main(["dlq", "list", "--prefix", prefix]) == 0
    shown = capsys.readouterr().out
    assert f"strategy-sma_btc: RetriesExhausted | BarsClosed {bar.event_id}" in shown
    assert shown.endswith(f"1 message(s) in the failure queues of {name}\n")
    seen = queue_instead_of_functions(moto_endpoint, f"{prefix}bus", [r["Name"] for r in ours], "SmaBtc")
    assert main(["dlq", "redrive", "--prefix", prefix]) == 0
    assert "failed invocations: 1 event(s) published again" in capsys.readouterr().out
    (message,) = sqs.receive_message(QueueUrl=seen, MaxNumberOfMessages=10)["Messages"]
    again = from_dict(json.loads(message["Body"])).detail
    assert again == bar  # through the deployed bus and the strategy's own rule, with its event id
    assert main(["dlq", "list", "--prefix", prefix]) == 0
    assert capsys.readouterr().out == f"0 message(s) in the failure queues of {name}\n"
    assert main(["dlq", "list", "--prefix", "nothing-here-"]) == 2
    assert capsys.readouterr().err.startswith("stds dlq: no stack Stds-nothing-here here")

    # a destroy removes the functions and keeps the tables, holdings included, for the next deploy to adopt
    dynamodb = client("dynamodb", moto_endpoint)
    holding = {"strategy": {"S": "sma_btc"}, "account": {"S": "binance|BTC/USDT"}, "position": {"S": "0.5"}}
    dynamodb.put_item(TableName=f"{prefix}subaccounts", Item=holding)
    cloudformation = client("cloudformation", moto_endpoint)
    destroy(name, moto_endpoint)
    assert not [
        s
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"
    ]
    functions = {f["FunctionName"] for f in client("lambda", moto_endpoint).list_functions()["Functions"]}
    assert f"{prefix}execution" not in functions  # gone with the stack
    key = {"strategy": holding["strategy"], "account": holding["account"]}
    kept = dynamodb.get_item(TableName=f"{prefix}subaccounts", Key=key)["Item"]
    assert kept == holding


def test_moto_creates_120_strategies_in_nested_stacks_and_updates_them_to_130(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """Past CloudFormation's 500 resources per stack: the strategy groups' nested stacks are read from the asset
    bucket, created, and on the update the groups that gained a strategy are updated (moto replaces a nested
    stack on update; CloudFormation updates it in place)."""
    prefix = f"n{uuid.uuid4().hex[:6]}-"
    name = stack_name(prefix)
    cloudformation, functions, events = (client(s, moto_endpoint) for s in ("cloudformation", "lambda", "events"))
    try:
        for count, status in ((120, "CREATE_COMPLETE"), (130, "UPDATE_COMPLETE")):
            app = cdk.App(outdir=str(tmp_path / f"cdk.out-{count}"))
            config = tmp_path / f"strategies-{count}.toml"
            config.write_text(many_strategies(count))
            settings = StackSettings(prefix=prefix)
            build_stack(app, config, tmp_path / "build", with_dependencies=False, settings=settings)
            app.synth()
            deploy(tmp_path / f"cdk.out-{count}", name, moto_endpoint)
            (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
            assert stack["StackStatus"] == status
            deployed = {
                f["FunctionName"]
                for page in functions.get_paginator("list_functions").paginate()
                for f in page["Functions"]
                if f["FunctionName"].startswith(f"{prefix}strategy-")
            }
            assert deployed == {f"{prefix}strategy-line_{n:03}_{'ab'[n % 2]}" for n in range(count)}
            rules = [
                rule
                for page in events.get_paginator("list_rules").paginate(EventBusName=f"{prefix}bus")
                for rule in page["Rules"]
                if not rule["Name"].startswith("Events-Archive-")
            ]
            assert len(rules) == count + 1  # and execution's
    finally:
        destroy(name, moto_endpoint)
