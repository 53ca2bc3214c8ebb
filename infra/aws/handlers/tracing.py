"""X-Ray subsegments through powertools' Tracer, where they are worth their cold start.

Importing the X-Ray SDK costs about 95 ms of init. Every function gets Lambda's active tracing (one
segment per invocation) from the stack; the SDK adds a subsegment per AWS call. The execution
function always has it (its calls go to an exchange, where the detail matters); a strategy function,
which must start fast, has it when its environment sets STDS_XRAY_SDK=true.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from infra.aws.handlers.environment import ProcessSettings

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(service: str, *, always: bool = False) -> Callable[[Handler], Handler]:
    if not always and not ProcessSettings.read().xray_sdk:
        return lambda handler: handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service, patch_modules=["botocore"])
    return tracer.capture_lambda_handler  # type: ignore[return-value]
