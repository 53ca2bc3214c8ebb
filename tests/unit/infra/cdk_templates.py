"""For tests of any stack of the app (the STDS stack, or another beside it): the synthesized templates of a stack
and its nested stacks (the strategy groups), read from the cloud assembly; one flat view of them all for
assertions that do not care which stack a resource lives in; cfn-lint on one template; and a strategies file of
any size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template


def templates(stack: cdk.Stack) -> dict[str, dict[str, Any]]:
    """Every template as CloudFormation receives it, by logical id in the stack: the stack's own under "", then
    each nested stack's under the logical id of its AWS::CloudFormation::Stack resource."""
    app = cdk.App.of(stack)
    assert isinstance(app, cdk.App)
    folder = Path(app.synth().directory)
    found = {"": json.loads((folder / f"{stack.artifact_id}.template.json").read_text())}
    for nested in stack.node.find_all():
        if isinstance(nested, cdk.NestedStack):
            assert nested.nested_stack_resource is not None
            logical_id = stack.resolve(stack.get_logical_id(nested.nested_stack_resource))
            found[logical_id] = json.loads((folder / nested.template_file).read_text())
    return found


def flattened(stack: cdk.Stack) -> Template:
    """The stack's resources and those of its nested stacks in one template: a nested stack's logical ids get
    its own as a prefix, and its parameters are replaced by what the parent passes them (so a function's
    failure queue reads `{"Fn::GetAtt": [queue, "Arn"]}` wherever it lives)."""
    documents = templates(stack)
    parent = documents.pop("")
    merged = dict(parent["Resources"])
    for nested_id, document in documents.items():
        passed = parent["Resources"][nested_id]["Properties"].get("Parameters", {})
        renamed = _rewrite(document["Resources"], nested_id, set(document["Resources"]), passed)
        merged.update({f"{nested_id}{logical_id}": resource for logical_id, resource in renamed.items()})
    return Template.from_json({**parent, "Resources": merged})


def _rewrite(node: Any, prefix: str, local: set[str], passed: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in passed:
            return passed[node["Ref"]]
        if set(node) == {"Ref"} and node["Ref"] in local:
            return {"Ref": prefix + node["Ref"]}
        if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in local:
            return {"Fn::GetAtt": [prefix + node["Fn::GetAtt"][0], *node["Fn::GetAtt"][1:]]}
        return {key: _rewrite(value, prefix, local, passed) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, prefix, local, passed) for item in node]
    if isinstance(node, str) and node in local:  # DependsOn
        return prefix + node
    return node


def cfn_lint_findings(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """cfn-lint with the serverless rules (cfn-lint-serverless), for the region the README deploys to:
    (rule, severity, message) of each finding."""
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=["ap-northeast-1"], append_rules=["cfn_lint_serverless.rules"])
    found = lint(json.dumps(template), config=config)
    return [(match.rule.id, match.rule.severity, match.message) for match in found]


USES = ('use = "sma_cross", symbols = ["BTC/USDT"]', 'use = "donchian_breakout", symbols = ["ETH/USDT", "BTC/USDT"]')


def many_strategies(count: int) -> str:
    """A strategies file of `count` lines, two kinds alternating (names line_000_a, line_001_b, ...)."""
    return "[strategies]\n" + "".join(f"line_{n:03}_{'ab'[n % 2]} = {{ {USES[n % 2]} }}\n" for n in range(count))
