"""The synthesized CloudFormation: one function and one rule per configured strategy with its exact pattern,
failure queues on every target and function, IAM scoped per function (synthesized here, no AWS account needed)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from infra.aws.delivered_bars_metric import DIMENSION, METRIC_NAME, NAMESPACE
from infra.cdk.app import build_stack
from infra.cdk.channel import sns_filter_policy
from infra.cdk.names import InvalidName, function_name, stack_name
from infra.cdk.settings import StackSettings
from infra.cdk.strategy_functions import group_of
from tests.unit.infra.cdk_templates import cfn_lint_findings, flattened, templates
from tests.unit.infra.test_handler_settings import documented_variables

CONFIG = """\
[strategies]
sma_btc = { use = "sma_cross", symbols = ["BTC/USDT"], params = { fast = 10, slow = 30 } }
donchian = { use = "donchian_breakout", symbols = ["BTC/USDT", "ETH/USDT"] }
"""
EXTRA = 'rsi = { use = "rsi_reversion", exchanges = ["binance"], timeframe = "1h" }\n'


class Synthesized(NamedTuple):
    template: Template  # the stack and its nested stacks flattened into one (cdk_templates.flattened)
    annotations: Annotations
    stack: cdk.Stack


def synthesize(tmp_path: Path, text: str) -> Synthesized:
    config = tmp_path / "strategies.toml"
    config.write_text(text)
    stack = build_stack(cdk.App(), config, tmp_path / "build", with_dependencies=False)
    return Synthesized(flattened(stack), Annotations.from_stack(stack), stack)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk"), CONFIG)


@pytest.fixture(scope="module")
def template(synthesized: Synthesized) -> Template:
    return synthesized[0]


def test_cdk_nag_aws_solutions_has_no_unsuppressed_finding(synthesized: Synthesized) -> None:
    annotations = synthesized[1]
    findings = Match.string_like_regexp("AwsSolutions-.*")
    assert annotations.find_error("*", findings) == []
    assert annotations.find_warning("*", findings) == []


def test_wildcard_resources_only_where_the_service_allows_nothing_else(template: Template) -> None:
    for name, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == "*":
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if actions == ["cloudwatch:PutMetricData"]:  # accepts no resource: limited to its namespace
                    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "STDS"}}
                    continue
                assert all(a.startswith(("xray:", "ecr:GetAuthorizationToken")) for a in actions), (name, actions)


def _function_named(template: Template, name: str) -> str:
    found = template.find_resources("AWS::Lambda::Function", {"Properties": {"FunctionName": name}})
    assert len(found) == 1, f"{name}: {list(found)}"
    return next(iter(found))


def _rule_targeting(template: Template, function_id: str) -> dict[str, Any]:
    rules = template.find_resources("AWS::Events::Rule")
    matching = [
        rule for rule in rules.values()
        if any(t["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for t in rule["Properties"]["Targets"])
    ]  # fmt: skip
    assert len(matching) == 1
    return matching[0]["Properties"]


def test_each_strategy_has_a_function_and_a_rule_with_its_declared_pattern(template: Template) -> None:
    sma = _rule_targeting(template, _function_named(template, "stds-strategy-sma_btc"))
    assert sma["EventPattern"] == {  # the minute batches holding a bar the strategy's own pattern selects
        "detail-type": ["BarsClosed"],
        "detail": {"timeframe": ["1m"], "symbols": ["BTC/USDT"]},
    }
    donchian = _rule_targeting(template, _function_named(template, "stds-strategy-donchian"))
    assert donchian["EventPattern"]["detail"]["symbols"] == ["BTC/USDT", "ETH/USDT"]
    execution = _rule_targeting(template, _function_named(template, "stds-execution"))
    assert execution["EventPattern"] == {"detail-type": ["OrderRequested", "BarsClosed"]}  # a minute: flatten


def test_every_rule_target_dead_letters_to_the_one_undelivered_queue(template: Template) -> None:
    (undelivered,) = _queue_ids(template, "UndeliveredQueueUrl")
    rules = template.find_resources("AWS::Events::Rule")
    targets = [t for rule in rules.values() for t in rule["Properties"].get("Targets", [])]
    assert len(targets) == 3
    assert all(t["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [undelivered, "Arn"]} for t in targets)
    (policy,) = template.find_resources(
        "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": undelivered}]}}
    ).values()
    senders = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert len(senders) == 1  # one statement for all rules: a queue policy has a size limit
    assert senders[0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_every_function_sends_what_it_failed_on_to_the_failed_invocations_queue(template: Template) -> None:
    (failed,) = _queue_ids(template, "FailedInvocationsQueueUrl")
    functions = template.find_resources("AWS::Lambda::Function")
    configs = template.find_resources("AWS::Lambda::EventInvokeConfig")
    assert {c["Properties"]["FunctionName"]["Ref"] for c in configs.values()} == set(functions)
    for config in configs.values():
        properties = config["Properties"]
        assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [failed, "Arn"]}
        assert properties["MaximumRetryAttempts"] == 2
    ages = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]["MaximumEventAgeInSeconds"] for c in configs.values()
    }
    assert ages[_function_named(template, "stds-execution")] == 15 * 60
    assert ages[_function_named(template, "stds-strategy-sma_btc")] == 3600
    assert not any("ReservedConcurrentExecutions" in f["Properties"] for f in functions.values())


def test_four_alarms_watch_everything_and_all_notify_the_alarm_topic(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    (topic,) = template.find_resources("AWS::SNS::Topic", {"Properties": {"TopicName": "stds-alarms"}})
    assert len(alarms) == 4  # failed invocations, undelivered, streamer lag, reconciliation
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic}]
    depths = [a["Properties"] for a in alarms.values() if a["Properties"].get("Namespace") == "AWS/SQS"]
    queues = {d["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for d in depths}
    assert queues == {*_queue_ids(template, "FailedInvocationsQueueUrl"), *_queue_ids(template, "UndeliveredQueueUrl")}
    template.resource_count_is("AWS::SNS::Subscription", 0)  # no --alarm-email given
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy", {"Properties": {"Topics": [{"Ref": topic}]}}).values()
    (publish,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"


def test_the_lag_alarm_watches_the_metric_the_streamer_puts_for_its_deployment(template: Template) -> None:
    (lag,) = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": "stds-StreamerLag"}}
    ).values()
    properties = lag["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == (NAMESPACE, METRIC_NAME)
    assert properties["Dimensions"] == [{"Name": DIMENSION, "Value": "stds-"}]
    assert properties["ComparisonOperator"] == "LessThanThreshold" and properties["TreatMissingData"] == "breaching"
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    command = task["Properties"]["ContainerDefinitions"][0]["Command"]
    assert command[command.index("--deployment") + 1] == "stds-"  # what DeliveredBarsMetric puts as Deployment


def _queue_ids(template: Template, output: str) -> list[str]:
    value = template.find_outputs(output)[output]["Value"]
    return [value["Ref"]]


def test_a_strategy_group_may_touch_only_its_own_accounts_and_never_the_secret(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    documents = {name: policy["Properties"]["PolicyDocument"]["Statement"] for name, policy in policies.items()}
    (function,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": "stds-strategy-sma_btc"}}
    ).values()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (statements,) = [documents[name] for name, p in policies.items() if p["Properties"]["Roles"] == [{"Ref": role}]]
    leading = [s for s in statements if "dynamodb:LeadingKeys" in str(s.get("Condition"))]
    group = sorted(name for name in ("sma_btc", "donchian") if group_of(name) == group_of("sma_btc"))
    assert leading and leading[0]["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": group}}
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.startswith("secretsmanager:") for a in actions)
    assert "dynamodb:*" not in actions and "dynamodb:Scan" not in actions
    execution = next(s for name, s in documents.items() if name.startswith("Execution"))
    assert any("secretsmanager:GetSecretValue" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
               for s in execution)  # fmt: skip


def test_tables_are_on_demand_with_point_in_time_recovery_and_ttl(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", 4)  # no bars table: the streamer keeps bars in S3
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "stds-processed", "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )  # fmt: skip
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "stds-subaccounts",
            "KeySchema": [
                {"AttributeName": "strategy", "KeyType": "HASH"}, {"AttributeName": "account", "KeyType": "RANGE"},
            ],
        },
    )  # fmt: skip
    template.has_resource_properties("AWS::Events::Archive", {"RetentionDays": 365})


def test_adding_a_strategy_line_adds_exactly_one_function_and_one_rule(template: Template, tmp_path: Path) -> None:
    more = synthesize(tmp_path, CONFIG + EXTRA).template
    for kind in ("AWS::Lambda::Function", "AWS::Events::Rule"):
        assert len(more.find_resources(kind)) == len(template.find_resources(kind)) + 1
    rule = _rule_targeting(more, _function_named(more, "stds-strategy-rsi"))
    assert rule["EventPattern"]["detail"]["timeframe"] == ["1h"]
    # a strategy on 1h bars: the streamer makes them, and its rule selects only them (one invocation an hour)
    (task,) = more.find_resources("AWS::ECS::TaskDefinition").values()
    command = task["Properties"]["ContainerDefinitions"][0]["Command"]
    assert command[command.index("--timeframes") + 1] == "1h"
    (only_1m,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    assert "--timeframes" not in only_1m["Properties"]["ContainerDefinitions"][0]["Command"]


def test_the_streamer_is_one_small_arm64_task_that_may_only_publish_and_keep_its_cursors(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "256",
            "Memory": "512",
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
        },
    )
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DesiredCount": 1,  # on-demand: the base; Spot only beyond it
            "CapacityProviderStrategy": [
                {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 0},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
            ],
        },
    )
    (cluster,) = template.find_resources("AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "disabled"}]
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["StopTimeout"] == 30
    command = container["Command"]
    assert command[command.index("--symbols") + 1] == "BTC/USDT,ETH/USDT"  # the union of the strategy lines
    assert command[command.index("--bucket") + 1] == {"Ref": _logical_id(template, "AWS::S3::Bucket")}
    role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p for p in template.find_resources("AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(str(s["Action"]) for s in statements) == [
        "['dynamodb:GetItem', 'dynamodb:PutItem']",
        "['s3:GetObject', 's3:PutObject']",
        "cloudwatch:PutMetricData",
        "events:PutEvents",
        "s3:ListBucket",
    ]
    cursors = next(s for s in statements if "dynamodb:LeadingKeys" in str(s.get("Condition")))
    assert cursors["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["streamer-cursors"]}}


@pytest.fixture(scope="module")
def sns_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    folder = tmp_path_factory.mktemp("cdk-sns")
    config = folder / "strategies.toml"
    config.write_text(CONFIG)
    settings = StackSettings(bus="sns", alarm_email="ops@example.com")
    stack = build_stack(cdk.App(), config, folder / "build", with_dependencies=False, settings=settings)
    return Synthesized(flattened(stack), Annotations.from_stack(stack), stack)


def test_the_sns_variant_subscribes_each_strategy_with_its_pattern_as_a_filter_policy(
    sns_synthesized: Synthesized,
) -> None:
    template, annotations, _ = sns_synthesized
    template.resource_count_is("AWS::Events::EventBus", 0)
    template.resource_count_is("AWS::SNS::Topic", 2)  # the bus, and the alarms' topic
    template.resource_properties_count_is("AWS::SNS::Topic", {"TopicName": "stds-events"}, 1)
    subscriptions = template.find_resources("AWS::SNS::Subscription", {"Properties": {"Protocol": "lambda"}})
    policies = {json.dumps(s["Properties"]["FilterPolicy"], sort_keys=True) for s in subscriptions.values()}
    assert policies == {
        json.dumps({"detail_type": ["BarsClosed"], "timeframe": ["1m"], "symbol": ["BTC/USDT"]}, sort_keys=True),
        json.dumps(
            {"detail_type": ["BarsClosed"], "timeframe": ["1m"], "symbol": ["BTC/USDT", "ETH/USDT"]}, sort_keys=True
        ),
        json.dumps({"detail_type": ["OrderRequested", "BarsClosed"]}, sort_keys=True),
    }
    (undelivered,) = _queue_ids(template, "UndeliveredQueueUrl")
    redrive = {"deadLetterTargetArn": {"Fn::GetAtt": [undelivered, "Arn"]}}
    assert all(s["Properties"]["RedrivePolicy"] == redrive for s in subscriptions.values())
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "stds-strategy-sma_btc",
            "Environment": {"Variables": Match.object_like({"STDS_SNS_TOPIC_ARN": Match.any_value()})},
        },
    )
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    assert "--sns-topic" in task["Properties"]["ContainerDefinitions"][0]["Command"]
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_a_pattern_sns_cannot_express_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="only lists of exact strings"):
        sns_filter_policy({"detail-type": ["BarClosed"], "detail": {"symbol": [{"prefix": "BTC"}]}})
    with pytest.raises(ValueError, match="volume"):
        sns_filter_policy({"detail": {"volume": ["1"]}})


def test_reconciliation_runs_on_a_schedule_with_an_alarm_on_any_difference(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "Target": Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 0}}),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "stds-reconciliation", "Handler": "infra.aws.handlers.reconciliation.handler"},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ReconciliationProblems", "Namespace": "STDS", "Threshold": 1,
         "Dimensions": [{"Name": "service", "Value": "stds-reconciliation"}]},
    )  # fmt: skip


TWELVE = "[strategies]\n" + "".join(
    f'sma_{n:02} = {{ use = "sma_cross", symbols = ["BTC/USDT"], params = {{ fast = {n + 2}, slow = 40 }} }}\n'
    for n in range(12)
)


def test_twelve_strategies_synthesize_with_the_same_four_alarms(tmp_path: Path) -> None:
    many, annotations, _ = synthesize(tmp_path, TWELVE)
    assert len(many.find_resources("AWS::Lambda::Function")) == 14  # and execution, reconciliation
    assert len(many.find_resources("AWS::Lambda::EventInvokeConfig")) == 14
    assert len(many.find_resources("AWS::CloudWatch::Alarm")) == 4
    assert annotations.find_error("*", Match.any_value()) == []


NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName", "AWS::Lambda::Function": "FunctionName", "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::EventBus": "Name", "AWS::Events::Archive": "ArchiveName", "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name", "AWS::CloudWatch::Alarm": "AlarmName", "AWS::Scheduler::Schedule": "Name",
}  # fmt: skip


def physical_names(template: Template) -> set[str]:
    found = set()
    for kind, prop in NAME_PROPERTIES.items():
        for resource in template.find_resources(kind).values():
            name = resource["Properties"][prop]
            assert isinstance(name, str), (kind, name)  # every named resource's name is a plain string
            found.add(name)
    return found


def test_two_prefixes_are_two_stacks_whose_names_share_nothing(template: Template, tmp_path: Path) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text(CONFIG)
    paper = build_stack(
        cdk.App(), config, tmp_path / "build", with_dependencies=False, settings=StackSettings(prefix="paper-")
    )
    assert paper.stack_name == "Stds-paper" and stack_name("stds-") == "Stds"
    first, second = physical_names(template), physical_names(flattened(paper))
    # tables 4, functions 4, log groups 5, bus, archive, alarm topic, secret, alarms 4, schedule; the schedule is
    # named like its function (different kinds of name)
    assert len(first) == len(second) == 22 - 1
    assert first.isdisjoint(second)
    assert all(name.startswith(("paper-", "/aws/lambda/paper-", "/stds/paper-")) for name in second), second


def test_a_prefix_that_would_make_a_bad_name_or_share_a_stack_is_refused() -> None:
    for bad in ("Paper-", "paper", "paper--", "-paper-", "pa_per-", ""):
        with pytest.raises(InvalidName, match="prefix"):
            stack_name(bad)


def test_a_function_name_over_64_characters_fails_the_synth_naming_the_limit(tmp_path: Path) -> None:
    long_name = "a" * 48  # the longest name the strategies file accepts
    config = tmp_path / "strategies.toml"
    config.write_text(f'[strategies]\n{long_name} = {{ use = "sma_cross", symbols = ["BTC/USDT"] }}\n')
    settings = StackSettings(prefix="stds-paper-")
    with pytest.raises(InvalidName, match=f"stds-paper-strategy-{long_name}' has 68 characters; Lambda allows 64"):
        build_stack(cdk.App(), config, tmp_path / "build", with_dependencies=False, settings=settings)
    assert function_name("stds-", "strategy-" + "a" * 50) == "stds-strategy-" + "a" * 50  # exactly 64


def test_tables_and_the_secret_are_kept_on_destroy_under_fixed_names_for_the_next_deploy_to_adopt(
    template: Template,
) -> None:
    kept = {
        **template.find_resources("AWS::DynamoDB::Table"),
        **template.find_resources("AWS::SecretsManager::Secret"),
    }
    assert len(kept) == 5
    for resource in kept.values():
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    names = {r["Properties"].get("TableName") or r["Properties"]["Name"] for r in kept.values()}
    assert names == {
        "stds-subaccounts", "stds-orders", "stds-processed", "stds-control", "stds-exchange-keys",
    }  # fmt: skip
    everything_else = template.to_json()["Resources"].values()
    assert sum(r.get("DeletionPolicy") == "Retain" for r in everything_else) == 6  # and the bar bucket


def test_the_secret_starts_as_a_json_template_the_broker_can_name_as_unset(template: Template) -> None:
    (secret,) = template.find_resources("AWS::SecretsManager::Secret").values()
    assert json.loads(secret["Properties"]["SecretString"]) == {"apiKey": "", "secret": ""}
    assert "GenerateSecretString" not in secret["Properties"]


def test_an_alarm_email_subscribes_to_the_alarm_topic(tmp_path: Path) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text(CONFIG)
    settings = StackSettings(alarm_email="ops@example.com")
    stack = build_stack(cdk.App(), config, tmp_path / "build", with_dependencies=False, settings=settings)
    template = Template.from_stack(stack)
    (topic,) = template.find_resources("AWS::SNS::Topic", {"Properties": {"TopicName": "stds-alarms"}})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": {"Ref": topic}}
    )


@pytest.mark.parametrize("variant", ["eventbridge", "sns"])
def test_cfn_lint_with_the_serverless_rules_finds_no_error(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized = request.getfixturevalue("synthesized" if variant == "eventbridge" else "sns_synthesized")
    documents = templates(synthesized.stack)
    assert len(documents) > 1  # the stack and its strategy groups' nested stacks
    for document in documents.values():
        findings = cfn_lint_findings(document)
        assert [f for f in findings if f[1] == "error"] == []
        # CDK's DependsOn on each function's role, which the GetAtt also implies: harmless
        assert {rule for rule, _, _ in findings} <= {"W3005"}


def test_cfn_lint_would_see_each_accepted_finding_without_its_reason(synthesized: Synthesized) -> None:
    """The linter is really running, and the accepted findings are exactly those with a reason."""
    rules: Counter[str] = Counter()
    for document in templates(synthesized.stack).values():
        for resource in document["Resources"].values():
            resource.pop("Metadata", None)
        rules.update(rule for rule, severity, _ in cfn_lint_findings(document) if severity != "informational")
    rules.pop("W3005", None)
    # the bus's permission to invoke each function; the 2 queues; the strategies' PassThrough tracing and shared
    # log group
    assert rules == {"ES1007": 3, "ES6000": 2, "WS1000": 2, "WS1004": 2}


def _logical_id(template: Template, kind: str) -> str:
    (logical_id,) = template.find_resources(kind)
    return logical_id


def test_the_functions_get_exactly_the_variables_their_settings_table_says_the_stack_sets(
    template: Template, sns_synthesized: Synthesized
) -> None:
    set_by = documented_variables()
    given = {
        name
        for synthesized in (template, sns_synthesized[0])
        for function in synthesized.find_resources("AWS::Lambda::Function").values()
        for name in function["Properties"].get("Environment", {}).get("Variables", {})
        if not name.startswith("POWERTOOLS_")  # powertools' own, read by powertools
    }
    assert given == {name for name, setter in set_by.items() if setter == "stack"}


def test_spot_alone_is_one_capacity_provider_and_the_default_keeps_an_on_demand_base() -> None:
    from aws_cdk import aws_ecs as ecs

    from infra.cdk.streamer import capacity_providers

    def shape(strategy: list[ecs.CapacityProviderStrategy]) -> list[tuple[str, float | None, float | None]]:
        return [(s.capacity_provider, s.base, s.weight) for s in strategy]

    assert shape(capacity_providers(spot_only=True)) == [("FARGATE_SPOT", None, 1)]
    assert shape(capacity_providers(spot_only=False)) == [("FARGATE", 1, 0), ("FARGATE_SPOT", None, 1)]
