"""The streamer's BarsDelivered metric on moto's CloudWatch: each put carries the bars since the last one that
CloudWatch accepted, so a failed put loses no count and never stops the stream."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.config import Config

from infra.aws.delivered_bars_metric import DIMENSION, METRIC_NAME, NAMESPACE, DeliveredBarsMetric
from tests.emulators.aws import client
from tests.emulators.launcher import free_port


def _sums(cloudwatch: Any, deployment: str) -> list[float]:
    answer = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=METRIC_NAME, Dimensions=[{"Name": DIMENSION, "Value": deployment}],
        StartTime=0, EndTime=2**31, Period=60, Statistics=["Sum"],
    )  # fmt: skip
    return sorted(point["Sum"] for point in answer["Datapoints"])


def test_a_failed_put_is_carried_into_the_next_one(moto_endpoint: str) -> None:
    deployment = f"d{uuid.uuid4().hex[:6]}-"
    cloudwatch = client("cloudwatch", moto_endpoint)
    metric = DeliveredBarsMetric(cloudwatch, deployment)
    metric.put(5)
    nowhere = boto3.client(
        "cloudwatch", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )  # fmt: skip
    metric.client = nowhere
    metric.put(9)  # refused: logged, not raised
    metric.client = cloudwatch
    metric.put(12)
    assert metric.puts == 2 and sum(_sums(cloudwatch, deployment)) == 12  # 5, then 7 (4 failed + 3 new)
