"""The sweep's state machine (Amazon States Language), one definition for the CDK stack and the tests.

A Standard execution whose one Distributed Map reads the sweep's items from its S3 manifest (ItemReader), cuts
them into batches (ItemBatcher, `items_per_child` from the cost estimate, so a child runs about a minute) handed
to Express children, each one invocation of the sweep function, and writes the children's answers (items done,
items failed) to S3 (ResultWriter). Lambda's throttles and service errors are retried with backoff. A failed item
is the function's answer, not a failure; a child that fails outright (a timeout) is tolerated, its items missing
from the results and run again by the next `stds sweep --aws`. A map that fails as a whole goes the on-failure
path: its error is written beside the manifest (`failure.json`, what the command line prints), then the
execution fails.

The execution's input: {"bucket", "prefix", "manifest", "items_per_child"}.
"""

from __future__ import annotations

from typing import Any

MAX_CONCURRENCY = 1000  # Lambda's default concurrent executions per account and region
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
FAILURE_KEY = "failure.json"
RESULTS = "sweeps/results"  # the result writer's: under it, one folder per map run (its id ends the map run's ARN)


def run_items_state(function_arn: str) -> dict[str, Any]:
    """A child's one step: the sweep function on its batch."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": LAMBDA_TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2}],
        "End": True,
    }


def sweep_definition(
    run_items: dict[str, Any], bucket: str, *, children: str = "EXPRESS", batcher: bool = True
) -> dict[str, Any]:
    """`run_items` is the children's step (`run_items_state`); `bucket` the sweeps' bucket, named in the result
    writer (whose paths would be read from the children's answers, not the execution's input). For an emulator
    that knows neither Express children nor the ItemBatcher (moto's), `children="STANDARD"` and `batcher=False`
    (each item is then handed alone)."""
    items: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.manifest"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": children},
            "StartAt": "Run items",
            "States": {"Run items": run_items},
        },
        "MaxConcurrency": MAX_CONCURRENCY,
        "ToleratedFailurePercentage": 100.0,  # a number, as ASL's grammar reads it
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": RESULTS},
        },
        "ResultPath": "$.map",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Keep the failure"}],
        "Next": "Done",
    }
    if batcher:
        items["ItemBatcher"] = {
            "MaxItemsPerBatchPath": "$.items_per_child",
            "BatchInput": {"bucket.$": "$.bucket", "prefix.$": "$.prefix"},
        }
    return {
        "Comment": "stds sweep --aws: a sweep's items, batched per Lambda child, results to S3",
        "StartAt": "Items",
        "States": {
            "Items": items,
            "Keep the failure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {
                    "Bucket.$": "$.bucket",
                    "Key.$": f"States.Format('{{}}/{FAILURE_KEY}', $.prefix)",
                    "Body.$": "States.JsonToString($.error)",
                },
                "ResultPath": None,
                "Next": "Sweep failed",
            },
            "Sweep failed": {"Type": "Fail", "Error": "SweepFailed", "Cause": "the map failed: see failure.json"},
            "Done": {"Type": "Succeed"},
        },
    }
