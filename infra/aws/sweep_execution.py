"""`stds sweep --aws` against the deployed research stack: find it, start a sweep's execution, wait for it, and read
back what its children answered (the items that failed, with their errors) from the map's result writer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from infra.cdk.sweeps import sweeps_stack_name

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class SweepService:
    bucket: str
    machine_arn: str


def find_sweep_service(cloudformation: Any, prefix: str) -> SweepService:
    """The bucket and state machine of `stds deploy --sweeps`, from its stack's outputs."""
    name = sweeps_stack_name(prefix)
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        raise ValueError(f"no stack {name}: deploy it first with stds deploy --sweeps --prefix {prefix}") from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    return SweepService(outputs["SweepBucketName"], outputs["SweepMachineArn"])


def wait_for_end(
    sfn: Any,
    execution_arn: str,
    *,
    pause: Callable[[float], None] = time.sleep,
    every_s: float = 0.05,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Ask until the execution has ended (Step Functions pushes nothing to a laptop); returns its description."""
    while True:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] in ENDED:
            return execution
        if on_wait is not None:
            on_wait(execution)
        pause(every_s)


def children_failures(s3: Any, execution: dict[str, Any]) -> dict[str, str]:
    """Item key → error, from the children's answers the result writer kept (`{"done", "failed"}` each)."""
    output = orjson.loads(execution.get("output") or b"{}")
    written = output.get("map", {}).get("ResultWriterDetails")
    if written is None:
        return {}
    manifest = orjson.loads(s3.get_object(Bucket=written["Bucket"], Key=written["Key"])["Body"].read())
    failures: dict[str, str] = {}
    for kind in ("SUCCEEDED",):
        for result in manifest["ResultFiles"].get(kind, []):
            body = s3.get_object(Bucket=manifest["DestinationBucket"], Key=result["Key"])["Body"].read()
            for child in orjson.loads(body):
                answer = orjson.loads(child.get("Output") or b"{}")
                failures |= {failed["key"]: failed["error"] for failed in answer.get("failed", [])}
    return failures
