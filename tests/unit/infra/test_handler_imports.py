"""The strategy Lambda must start fast: importing its handler loads neither ccxt nor the X-Ray SDK."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

CHECK = """
import sys
import infra.aws.handlers.strategy
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"ccxt", "aws_xray_sdk", "matplotlib", "aiohttp"})
print(",".join(heavy))
"""


def test_the_strategy_handler_imports_nothing_heavy() -> None:
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    environment.pop("AWS_LAMBDA_FUNCTION_NAME", None)  # import only; building the app needs its environment
    shown = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == ""
