"""The sweep Lambda, its handler called in-process on moto's S3: one Distributed Map batch makes the same items,
byte for byte, as `stds sweep` does on this machine: one code path."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from events.dead_letters import DeadLetterList
from infra.cli import main, parser
from infra.cli.sweep import sweep_run
from infra.research import remote
from infra.research.items import SweepItem
from infra.research.windows import Span
from infra.research.workers import Bars
from producers.replay.sources import open_sources
from tests.conftest import SHARED_DATA
from tests.emulators.aws import client

MARCH = SHARED_DATA / "binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv"


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bars") / "BTCUSDT_1m_head.csv"
    with MARCH.open() as source:
        path.write_text("".join(line for _, line in zip(range(1501), source, strict=False)))
    return path


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
