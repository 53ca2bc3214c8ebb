"""stds deploy / stds diff: the CDK CLI command they run, with the strategies file, region and context."""

from __future__ import annotations

import pytest

from infra.cli import main
from tests.conftest import REPO_ROOT

EXAMPLE = str(REPO_ROOT / "strategies.example.toml")


def test_deploy_and_diff_wrap_the_cdk_cli_with_the_strategies_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", "paper-", "--dry-run", "--no-alarm-email"]) == 0
    shown = capsys.readouterr().out
    assert f"STRATEGIES={EXAMPLE}" in shown and " deploy --app " in shown and "stds:prefix=paper-" in shown
    assert "--require-approval broadening" in shown
    assert main(["diff", "--strategies", EXAMPLE, "--dry-run"]) == 0
    assert " diff --app " in capsys.readouterr().out
    assert main(["deploy", "--strategies", "missing.toml"]) == 2


def test_deploy_goes_to_tokyo_unless_told_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run", "--no-alarm-email"]) == 0
    assert capsys.readouterr().out.startswith("AWS_REGION=ap-northeast-1 ")
    assert main(["deploy", "--strategies", EXAMPLE, "--region", "eu-west-1", "--dry-run", "--no-alarm-email"]) == 0
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
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", "Paper", "--dry-run", "--alarm-email", "a@b.c"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("stds: error: prefix 'Paper': use lower-case") and error.count("\n") == 1


def test_a_prefix_too_long_for_the_bucket_name_in_the_deploy_region_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fits = "p" * 30 + "-"  # 31 characters: 31 + "bars-" + 12 + "-" + 14 (ap-northeast-1) = 63
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", fits, "--dry-run", "--no-alarm-email"]) == 0
    assert "stds:region=ap-northeast-1" in capsys.readouterr().out  # the synth checks names with its length
    too_long = "p" * 31 + "-"
    assert main(["deploy", "--strategies", EXAMPLE, "--prefix", too_long, "--dry-run", "--no-alarm-email"]) == 2
    error = capsys.readouterr().err
    bucket = f"{too_long}bars-123456789012-ap-northeast-1"
    assert error == f"stds: error: bucket name {bucket!r} has 64 characters (in ap-northeast-1); S3 allows 63: " + (
        "shorten the --prefix (or the strategy's name in the strategies file)\n"
    )


def test_deploy_needs_an_alarm_email_or_an_explicit_no_and_says_what_none_means(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unheard = (
        "stds deploy: without --alarm-email the alarms (failed invocations, undelivered events, streamer lag, "
        "reconciliation differences) go to the SNS topic stds-alarms, which nobody is subscribed to: trading can "
        "stop unheard\n"
    )
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run"]) == 2
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err == unheard + "stds deploy: give --alarm-email you@example.com, or --no-alarm-email to deploy so\n"
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run", "--no-alarm-email"]) == 0
    shown = capsys.readouterr()
    assert shown.err == unheard and "stds:alarmEmail" not in shown.out
    with pytest.raises(SystemExit):  # one or the other
        main(["deploy", "--strategies", EXAMPLE, "--alarm-email", "a@b.c", "--no-alarm-email"])
    assert "not allowed with argument --alarm-email" in capsys.readouterr().err
    assert main(["diff", "--strategies", EXAMPLE, "--dry-run"]) == 0  # a diff deploys nothing
    assert capsys.readouterr().err == ""


def test_the_streamer_goes_on_spot_alone_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run", "--no-alarm-email"]) == 0
    assert "stds:streamerSpot" not in capsys.readouterr().out
    assert main(["deploy", "--strategies", EXAMPLE, "--dry-run", "--no-alarm-email", "--streamer-spot"]) == 0
    assert "stds:streamerSpot=true" in capsys.readouterr().out
