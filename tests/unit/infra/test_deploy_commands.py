"""stds deploy / stds diff: the CDK CLI command they run, with the strategies file, region and context."""

from __future__ import annotations

import pytest

from infra.cli import main
from tests.conftest import REPO_ROOT

EXAMPLE = str(REPO_ROOT / "strategies.example.toml")


def test_deploy_and_diff_wrap_the_cdk_cli_with_the_strategies_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", "paper-", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert f"STRATEGIES={EXAMPLE}" in shown and " deploy --app " in shown and "stds:prefix=paper-" in shown
    assert "--require-approval broadening" in shown
    assert main(["diff", "--strategies", EXAMPLE, "--dry-run"]) == 0
    assert " diff --app " in capsys.readouterr().out
    assert main(["deploy", "--strategies", "missing.toml"]) == 2


def test_deploy_goes_to_tokyo_unless_told_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("AWS_REGION=ap-northeast-1 ")
    assert main(["deploy", "--strategies", EXAMPLE, "--region", "eu-west-1", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("AWS_REGION=eu-west-1 ")


def test_deploy_adopts_what_a_destroyed_stack_kept_and_passes_the_alarm_email(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--alarm-email", "ops@example.com", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "--import-existing-resources" in shown and "stds:alarmEmail=ops@example.com" in shown
    assert main(["diff", "--strategies", EXAMPLE, "--dry-run"]) == 0
    assert "--import-existing-resources" not in capsys.readouterr().out  # a change set option of deploy only


def test_a_bad_prefix_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", "Paper", "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("stds: error: prefix 'Paper': use lower-case") and error.count("\n") == 1
