"""stds deploy / stds diff: the CDK CLI command they run, with the strategies file and context."""

from __future__ import annotations

import pytest

from infra.cli import main
from tests.conftest import REPO_ROOT


def test_deploy_and_diff_wrap_the_cdk_cli_with_the_strategies_file(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(REPO_ROOT / "strategies.example.toml")
    assert main(["deploy", "--strategies", example, "--prefix", "paper-", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert f"STRATEGIES={example}" in shown and " deploy --app " in shown and "stds:prefix=paper-" in shown
    assert "--require-approval broadening" in shown
    assert main(["diff", "--strategies", example, "--dry-run"]) == 0
    assert " diff --app " in capsys.readouterr().out
    assert main(["deploy", "--strategies", "missing.toml"]) == 2
