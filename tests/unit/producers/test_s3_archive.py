"""The bar archive as the streamer writes it, on moto's S3: one PUT a minute, each bar once, nothing lost on restart."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from events.bar_archive import decode_object, span_key
from events.minute_batches import batches_of
from events.models import BarClosed, BarsClosed
from infra.cost.calls import CallCounter
from producers.streamer.s3_archive import SpanArchive
from tests.conftest import spot_day_bars
from tests.emulators.aws import client

BTC = spot_day_bars(limit=130)  # 2023-01-21 00:00 to 02:09: three spans
ETH = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in BTC]


@pytest.fixture
def s3(moto_endpoint: str) -> tuple[Any, str]:
    s3 = client("s3", moto_endpoint)
    bucket = f"bars-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def stored(s3: Any, bucket: str, key: str) -> list[BarClosed]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    bars = list(decode_object(body, key))
    assert all(isinstance(bar, BarClosed) for bar in bars)
    return bars  # type: ignore[return-value]


def both(minutes: int) -> list[BarClosed]:
    """BTC and ETH minute by minute, as the span holds them."""
    return [bar for n in range(minutes) for bar in (BTC[n], ETH[n])]


def minute(n: int, *symbols: list[BarClosed]) -> list[BarsClosed]:
    return batches_of(series[n] for series in symbols)


def test_each_minute_is_one_put_of_its_span_holding_every_bar_once(s3: tuple[Any, str]) -> None:
    s3_client, bucket = s3
    counter = CallCounter()
    counter.attach(s3_client)
    archive = SpanArchive(s3_client, bucket)
    for n in range(len(BTC)):
        archive.write(minute(n, BTC, ETH))
    assert counter.counts.requests == {"s3.GetObject": 3, "s3.PutObject": len(BTC)}  # one GET per span: none there
    first_span = span_key("binance", "1m", BTC[0].open_time_ms)
    assert stored(s3_client, bucket, first_span) == both(60)
    last_span = span_key("binance", "1m", BTC[-1].open_time_ms)
    assert len(stored(s3_client, bucket, last_span)) == 2 * 10


def test_a_late_bar_joins_its_minute_and_a_repeat_changes_nothing(s3: tuple[Any, str]) -> None:
    s3_client, bucket = s3
    counter = CallCounter()
    counter.attach(s3_client)
    archive = SpanArchive(s3_client, bucket)
    archive.write(minute(0, BTC))
    archive.write(minute(1, BTC))
    archive.write(minute(0, ETH))  # ETH's bar of minute 0, backfilled after a reconnect
    archive.write(minute(0, BTC, ETH))  # re-published: both already there
    key = span_key("binance", "1m", BTC[0].open_time_ms)
    assert stored(s3_client, bucket, key) == [BTC[0], ETH[0], BTC[1]]  # by open time, each once
    assert counter.counts.requests["s3.PutObject"] == 3  # the repeat wrote nothing


def test_a_restarted_writer_keeps_what_the_span_held_and_doubles_no_row(s3: tuple[Any, str]) -> None:
    s3_client, bucket = s3
    before = SpanArchive(s3_client, bucket)
    for n in range(10):
        before.write(minute(n, BTC, ETH))
    after = SpanArchive(s3_client, bucket)  # a new task: nothing in memory
    for n in range(8, 12):  # it re-publishes from cursors that were saved a little behind
        after.write(minute(n, BTC, ETH))
    key = span_key("binance", "1m", BTC[0].open_time_ms)
    assert stored(s3_client, bucket, key) == both(12)


def test_a_line_that_is_no_batch_is_kept_as_it_is_not_lost(s3: tuple[Any, str]) -> None:
    s3_client, bucket = s3
    key = span_key("binance", "1m", BTC[0].open_time_ms)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b'{"not": "a batch"}\n')
    SpanArchive(s3_client, bucket).write(minute(0, BTC))
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body.splitlines()[-1] == b'{"not": "a batch"}'
    assert [str(item) for item in decode_object(body, key)][1].startswith(f"{key}:2: ")


class PutFailsOnce:
    """moto's S3 with one PutObject failing first, as when the network drops mid-request."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failed = False

    def get_object(self, **request: Any) -> Any:
        return self.real.get_object(**request)

    def put_object(self, **request: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "PutObject")
        return self.real.put_object(**request)


def test_a_failed_put_raises_and_the_next_write_carries_the_rows_it_missed(s3: tuple[Any, str]) -> None:
    s3_client, bucket = s3
    archive = SpanArchive(PutFailsOnce(s3_client), bucket)
    with pytest.raises(ClientError, match="SlowDown"):
        archive.write(minute(0, BTC))
    archive.write(minute(1, BTC))
    key = span_key("binance", "1m", BTC[0].open_time_ms)
    assert stored(s3_client, bucket, key) == [BTC[0], BTC[1]]
