"""`stds` must start fast: `--help` loads no pydantic, and a replay loads none of the AWS, exchange or chart
libraries (nor tqdm without a progress bar). Each check runs in a fresh interpreter, as the command does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BTCUSDT_SPOT_DAY, REPO_ROOT

LOADED_AFTER = """
import contextlib
import sys

from infra.cli import main

with contextlib.redirect_stdout(None), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(" ".join(sorted(sys.modules)))
"""

NEVER_IN_A_REPLAY = {
    "boto3",
    "botocore",
    "ccxt",
    "matplotlib",
    "websockets",
    "aiohttp",
    "aws_lambda_powertools",
    "tqdm",
}


def modules_loaded_by(*argv: str) -> set[str]:
    shown = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(shown.stdout.split())


def test_help_loads_neither_pydantic_nor_the_configuration() -> None:
    loaded = modules_loaded_by("--help")
    assert "argparse" in loaded  # the check sees what the command loaded
    assert {"pydantic", "infra.config", "events.models"} & loaded == set()


def test_a_replay_loads_no_aws_exchange_chart_or_progress_library(tmp_path: Path) -> None:
    bars = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    bars.write_text("".join(BTCUSDT_SPOT_DAY.read_text().splitlines(keepends=True)[:10]))
    out = tmp_path / "out"
    loaded = modules_loaded_by(
        "replay", str(bars), "--strategy", "sma_cross", "--out", str(out), "--no-progress", "--no-chart"
    )
    assert (out / "summary.json").is_file()  # the replay ran to its report
    assert {name.partition(".")[0] for name in loaded} & NEVER_IN_A_REPLAY == set()


def test_dlq_names_its_stack_and_outputs_without_the_cdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing aws_cdk starts Node (and its end-of-life banner on stderr) for a command that only reads AWS."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))  # refused at once: nothing reaches AWS
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    loaded = modules_loaded_by("dlq", "list", "--prefix", "paper-")
    assert {"infra.cli.dlq", "infra.cdk.names", "boto3"} <= loaded  # it got as far as asking AWS
    assert {name.partition(".")[0] for name in loaded} & {"aws_cdk", "jsii", "constructs"} == set()
