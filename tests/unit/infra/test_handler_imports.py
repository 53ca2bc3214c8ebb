"""The strategy Lambda must start fast: importing its handler loads neither ccxt nor the X-Ray SDK."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CHECK = """
import sys

import pytest
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


def test_an_sns_record_that_is_not_an_envelope_is_refused_naming_the_message() -> None:
    from events.codec import InvalidEvent
    from infra.aws.handlers.delivery import deliveries

    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-42", "Message": "{truncated"}}]}
    with pytest.raises(InvalidEvent, match="m-42"):
        deliveries(event)
    with pytest.raises(InvalidEvent, match="record 0"):
        deliveries({"Records": [{"EventSource": "aws:sqs", "body": "{}"}]})
