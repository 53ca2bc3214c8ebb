"""500 strategies deploy: one synth of 500 strategy lines, every template within CloudFormation's limits (500
resources, 200 parameters and outputs, 1 MB for a template read from S3) and clean under cfn-lint with the
serverless rules, and cdk-nag's AwsSolutions checks without an unexplained finding.

This is the slowest unit test: 135 s for the synth and 200 s for cfn-lint on the 21 templates when the 2-core
machine is otherwise idle, 358 s in all under a load of 13 (`pytest --durations=1` on this file). `make test`
runs it like any other; it is one synth, shared by every assertion.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk

from infra.cdk.app import build_stack
from infra.cdk.strategy_functions import GROUPS
from tests.unit.infra.cdk_templates import cfn_lint_findings, many_strategies, templates

STRATEGIES = 500


def test_500_strategies_synthesize_within_cloudformations_limits_and_pass_cfn_lint(tmp_path: Path) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text(many_strategies(STRATEGIES))
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = build_stack(app, config, tmp_path / "build", with_dependencies=False)
    messages = app.synth().get_stack_artifact(stack.artifact_id).messages
    assert [m.entry.data for m in messages if m.level == "error"] == []  # cdk-nag, nested stacks included
    documents = templates(stack)
    assert len(documents) == 1 + GROUPS
    functions = [
        resource["Properties"]["FunctionName"]
        for document in documents.values()
        for resource in document["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert len(functions) == len(set(functions)) == STRATEGIES + 2  # and execution, reconciliation
    for name, document in documents.items():
        assert len(document["Resources"]) < 200, name  # a group averages 25 strategies: 100 resources and 6
        assert len(document.get("Parameters", {})) <= 200 and len(document.get("Outputs", {})) <= 200, name
        assert len(json.dumps(document)) < 1_000_000, name
    for name, document in documents.items():
        findings = cfn_lint_findings(document)
        assert {rule for rule, _, _ in findings} <= {"W3005"}, (name, findings[:3])
