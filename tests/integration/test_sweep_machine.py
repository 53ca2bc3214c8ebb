"""The sweep state machine's plumbing, executed by moto's Step Functions (its ASL interpreter, switched on through
moto's config API): the Distributed Map reads the items from the S3 manifest, hands each to a child and the
result writer writes to S3; a map that fails takes the on-failure path, its error kept beside the manifest.

moto cannot run our Lambda (it would need Docker), and its interpreter knows neither Express children nor the
ItemBatcher: the children here are Standard, each an S3 write of the item it got (an SDK task moto runs). The
Lambda's own work is tested on its own (test_sweep_lambda.py); the full definition is synthesized and linted
(test_sweep_stack.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from infra.aws.sweep_execution import wait_for_end
from infra.aws.sweep_machine import FAILURE_KEY, RESULTS, sweep_definition
from tests.emulators.aws import client

ROLE = "arn:aws:iam::123456789012:role/sweeps"


@pytest.fixture
def executing(moto_endpoint: str) -> Iterator[str]:
    config = f"{moto_endpoint}/moto-api/config"
    requests.post(config, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10).raise_for_status()
    yield moto_endpoint
    requests.post(config, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10).raise_for_status()


def _child(bucket: str, prefix: str) -> dict[str, Any]:
    """Stands in for the Lambda: writes the item it was handed where the function writes a finished item."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
        "Parameters": {
            "Bucket": bucket,
            "Key.$": f"States.Format('{prefix}/items/{{}}.json', $.key)",
            "Body.$": "States.JsonToString($)",
        },
        "End": True,
    }


def _run(endpoint: str, bucket: str, prefix: str, manifest: str) -> dict[str, Any]:
    sfn = client("stepfunctions", endpoint)
    definition = sweep_definition(_child(bucket, prefix), bucket, children="STANDARD", batcher=False)
    name = f"sweeps-{uuid.uuid4().hex[:8]}"
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, type="STANDARD")
    started = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        input=json.dumps({"bucket": bucket, "prefix": prefix, "manifest": manifest, "items_per_child": 2}),
    )
    return wait_for_end(sfn, started["executionArn"])


def test_the_map_reads_the_manifest_hands_every_item_to_a_child_and_writes_results(executing: str) -> None:
    s3 = client("s3", executing)
    bucket, prefix = f"sweeps-{uuid.uuid4().hex[:8]}", "sweeps/abc"
    s3.create_bucket(Bucket=bucket)
    items = [{"key": f"k{n}", "set": n, "params": {"fast": n}, "span": [0, 60_000]} for n in range(5)]
    s3.put_object(Bucket=bucket, Key=f"{prefix}/manifest.json", Body=orjson.dumps(items))

    execution = _run(executing, bucket, prefix, f"{prefix}/manifest.json")

    assert execution["status"] == "SUCCEEDED", execution
    for item in items:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/items/{item['key']}.json")["Body"].read()
        assert json.loads(body) == item
    written = json.loads(execution["output"])["map"]["ResultWriterDetails"]
    assert written["Bucket"] == bucket and written["Key"].startswith(f"{RESULTS}/")
    assert json.loads(s3.get_object(Bucket=bucket, Key=written["Key"])["Body"].read())["DestinationBucket"] == bucket


def test_a_map_that_fails_keeps_its_error_beside_the_manifest_and_fails_the_execution(executing: str) -> None:
    s3 = client("s3", executing)
    bucket, prefix = f"sweeps-{uuid.uuid4().hex[:8]}", "sweeps/gone"
    s3.create_bucket(Bucket=bucket)

    execution = _run(executing, bucket, prefix, f"{prefix}/manifest.json")  # no manifest written

    assert execution["status"] == "FAILED", execution
    failure = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/{FAILURE_KEY}")["Body"].read())
    assert "Error" in failure
