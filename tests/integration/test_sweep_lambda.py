"""The sweep Lambda, its handler called in-process on moto's S3: one Distributed Map batch makes the same items,
byte for byte, as `stds sweep` does on this machine: one code path."""

from __future__ import annotations

import importlib
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

import orjson
import pytest

from events.dead_letters import DeadLetterList
from infra.cdk.sweeps import sweeps_stack_name
from infra.cli import main, parser
from infra.cli.sweep import sweep_run
from infra.research import remote
from infra.research.items import SweepItem
from infra.research.on_aws import AwsTarget
from infra.research.sweep import run_sweep
from infra.research.windows import Span
from infra.research.workers import Bars
from producers.replay.sources import open_sources
from tests.e2e.test_sweep_cli import march_head
from tests.emulators.aws import client


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return march_head(tmp_path_factory.mktemp("bars"), 1500)


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the handler's own client, made at import
    s3 = client("s3", moto_endpoint)
    bucket = f"sweeps-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def test_a_batch_in_the_lambda_makes_the_items_stds_sweep_makes(
    bars_file: Path, s3: tuple[Any, str], tmp_path: Path
) -> None:
    client_, bucket = s3
    grid = ["--grid", "fast=5,10", "--grid", "slow=20,30", "--param", "qty=0.5"]
    local = tmp_path / "local"
    options = ["--strategy", "sma_cross", "--out", str(local), "--no-progress", "--workers", "1"]
    assert main(["sweep", str(bars_file), *options, *grid]) == 0

    run = sweep_run(parser().parse_args(["sweep", str(bars_file), *options, *grid]))  # the line the sweep ran
    bars = list(open_sources([bars_file], DeadLetterList()))
    span = Span(bars[0].open_time_ms, bars[-1].open_time_ms + bars[-1].interval_ms)
    items = [SweepItem(index, params, span) for index, params in enumerate(run.sets)]
    place = remote.SweepPlace(bucket, f"sweeps/{uuid.uuid4().hex[:8]}")
    remote.upload_sweep(client_, place, run.line, bars, items)

    handler = importlib.reload(importlib.import_module("infra.aws.handlers.sweep"))
    documents = orjson.loads(_read(client_, bucket, place.key(remote.MANIFEST)))
    event = {"Items": documents, "BatchInput": {"bucket": bucket, "prefix": place.prefix}}
    answer = handler.handler(event, None)
    assert answer == {"done": [item.key for item in items], "failed": []}
    for item in items:
        for suffix in (".json", ".trades.csv"):
            made = _read(client_, bucket, place.key(remote.ITEMS, item.key + suffix))
            assert made == (local / "items" / f"{item.key}{suffix}").read_bytes(), suffix


def test_the_manifest_keeps_exact_parameter_values_and_refuses_a_tampered_item() -> None:
    from decimal import Decimal

    item = SweepItem(3, {"fast": 5, "qty": Decimal("0.50"), "mode": "long_flat"}, Span(0, 60_000))
    document = remote.item_json(item)
    assert remote.item_of(document) == item
    assert type(remote.item_of(document).params["qty"]) is Decimal
    with pytest.raises(ValueError, match="does not match"):
        remote.item_of({**document, "params": {**document["params"], "fast": 6}})


def test_bars_round_trip_through_parquet(bars_file: Path, tmp_path: Path) -> None:
    bars = list(open_sources([bars_file], DeadLetterList()))
    path = tmp_path / "binance-BTCUSDT-1m.parquet"
    path.write_bytes(remote.parquet_of("binance", "BTC/USDT", "1m", bars))
    assert Bars.of(list(open_sources([path], DeadLetterList()))).bars == bars


def _read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


class MapStandIn:
    """Step Functions for a machine without Docker: what the definition's Distributed Map does with the manifest
    (batches of `items_per_child`, each handed to the sweep handler as the ItemBatcher hands it), run in-process.
    moto executes the definition's own plumbing in test_sweep_machine.py; it cannot invoke the Lambda."""

    def __init__(self, s3: Any, handler: Any) -> None:
        self.s3, self.handler, self.executions = s3, handler, 0
        self.ended: dict[str, Any] = {}

    def start_execution(self, *, stateMachineArn: str, input: str) -> dict[str, str]:  # noqa: N803 (boto3's)
        given = orjson.loads(input)
        items = orjson.loads(self.s3.get_object(Bucket=given["bucket"], Key=given["manifest"])["Body"].read())
        size = given["items_per_child"]
        for start in range(0, len(items), size):
            batch = {
                "Items": items[start : start + size],
                "BatchInput": {"bucket": given["bucket"], "prefix": given["prefix"]},
            }
            self.handler.handler(batch, None)
        self.executions += 1
        self.ended = {"status": "SUCCEEDED", "output": input}
        return {"executionArn": f"{stateMachineArn}:{self.executions}"}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:  # noqa: N803
        return self.ended


def test_stds_sweep_aws_writes_the_folder_a_local_sweep_writes(
    bars_file: Path, s3: tuple[Any, str], moto_endpoint: str, tmp_path: Path
) -> None:
    client_, bucket = s3
    client("cloudformation", moto_endpoint).create_stack(
        StackName=sweeps_stack_name("test-"),
        TemplateBody=orjson.dumps(
            {
                "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{bucket}-cfn"}}},
                "Outputs": {"SweepBucketName": {"Value": bucket}, "SweepMachineArn": {"Value": "arn:aws:states:m"}},
            }
        ).decode(),
    )
    handler = importlib.reload(importlib.import_module("infra.aws.handlers.sweep"))
    stand_in = MapStandIn(client_, handler)
    grid = ["--grid", "fast=5,10", "--grid", "slow=20,30", "--walk-forward", "train=12h,test=6h"]
    options = ["--strategy", "sma_cross", "--no-progress", "--workers", "1", *grid]
    assert main(["sweep", str(bars_file), *options, "--out", str(tmp_path / "local")]) == 0
    run = sweep_run(parser().parse_args(["sweep", str(bars_file), *options, "--out", str(tmp_path / "aws")]))
    aws = AwsTarget("test-", "us-east-1", Decimal(1))
    clients = {"stepfunctions": stand_in}

    def made(service: str) -> Any:
        return clients.get(service) or client(service, moto_endpoint)

    from dataclasses import replace

    with patch("infra.research.on_aws._boto3_clients", return_value=made):
        report = run_sweep(replace(run, aws=aws))
    assert (report.items, report.failed) == (len(list((tmp_path / "local" / "items").glob("*.json"))), [])
    assert stand_in.executions == 1
    for name in ("results.csv", "best.toml", "oos-equity.csv"):
        assert (tmp_path / "aws" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    local_items = sorted(p.name for p in (tmp_path / "local" / "items").iterdir())
    assert local_items == sorted(p.name for p in (tmp_path / "aws" / "items").iterdir())
    for name in local_items:
        assert (tmp_path / "aws/items" / name).read_bytes() == (tmp_path / "local/items" / name).read_bytes(), name
    # a second run finds every item done and starts nothing on AWS
    run_sweep(replace(run, aws=aws))
    assert stand_in.executions == 1
