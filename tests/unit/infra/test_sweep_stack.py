"""The research stack (`stds deploy --sweeps`), synthesized and linted: a Standard state machine whose Distributed
Map reads the manifest from S3, batches items per child and writes results to S3, with an on-failure path; the
function and the machine may touch only the sweeps' objects, the function and the machine's own executions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from infra.cdk.app import build_sweep_stack
from tests.unit.infra.test_cdk_stack import cfn_lint_findings

WRITER = {"s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}  # the result writer's


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Annotations]:
    stack = build_sweep_stack(cdk.App(), "paper-", tmp_path_factory.mktemp("build"), with_dependencies=False)
    return Template.from_stack(stack), Annotations.from_stack(stack)


@pytest.fixture(scope="module")
def template(synthesized: tuple[Template, Annotations]) -> Template:
    return synthesized[0]


def _definition(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["StateMachineType"] == "STANDARD"
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "FUNCTION_ARN" for part in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def test_a_standard_machine_runs_a_distributed_map_from_an_s3_manifest_to_s3_results(template: Template) -> None:
    states = _definition(template)["States"]
    items = states["Items"]
    assert items["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert items["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert items["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.items_per_child"
    assert items["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    child = items["ItemProcessor"]["States"]["Run items"]
    assert child["Parameters"]["FunctionName"] == "FUNCTION_ARN"
    # the on-failure path: the map's error kept in S3, then the execution fails
    assert items["Catch"][0]["Next"] == "Keep the failure"
    assert states["Keep the failure"]["Next"] == "Sweep failed" and states["Sweep failed"]["Type"] == "Fail"


def test_the_function_is_one_vcpu_for_five_minutes_at_most(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "paper-sweep", "MemorySize": 1769, "Timeout": 300, "Architectures": ["arm64"]},
    )


def test_grants_name_the_sweeps_objects_the_function_and_the_machines_own_executions(template: Template) -> None:
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert "*" not in resources, statement
            text = json.dumps(resources)
            if any(action.startswith("s3:") for action in actions):
                assert {"s3:GetObject", "s3:PutObject"} <= set(actions) <= {*WRITER, "s3:GetObject"}, statement
                assert "/sweeps/*" in text, statement
            elif any(action.startswith("states:") for action in actions):
                assert "paper-sweeps" in text, statement
            else:
                assert actions == ["lambda:InvokeFunction"], statement


def test_cdk_nag_and_cfn_lint_find_nothing(synthesized: tuple[Template, Annotations]) -> None:
    template, annotations = synthesized
    findings = Match.string_like_regexp("AwsSolutions-.*")
    assert annotations.find_error("*", findings) == []
    assert annotations.find_warning("*", findings) == []
    assert [f for f in cfn_lint_findings(template.to_json()) if f[1] == "error"] == []


def test_deploy_sweeps_passes_the_context_and_needs_no_strategies_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.cli import main

    assert main(["deploy", "--sweeps", "--strategies", str(tmp_path / "none.toml"), "--dry-run"]) == 0
    assert "stds:sweeps=true" in capsys.readouterr().out


def test_the_sweep_bundle_holds_every_module_its_handler_imports_and_it_imports_from_there(tmp_path: Path) -> None:
    import subprocess
    import sys

    from infra.cdk.packaging import build_asset
    from infra.config import load_config
    from tests.import_graph import closure, module_file
    from tests.unit.infra.test_lambda_bundle import EXAMPLE, IMPORT_FROM_BUNDLE

    bundle = build_asset("sweep", load_config(EXAMPLE), EXAMPLE, tmp_path, with_dependencies=False)
    handler = "infra.aws.handlers.sweep"
    assert sorted(name for name in closure((handler,)) if module_file(name, bundle) is None) == []
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AWS_LAMBDA_FUNCTION_NAME")}
    shown = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_FROM_BUNDLE, str(bundle), handler],
        cwd=bundle,
        env={**environment, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == ""
    assert not any(path.parts[0] in ("tools", "tests") for path in bundle.rglob("*.py"))
