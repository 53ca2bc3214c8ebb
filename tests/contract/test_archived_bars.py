"""A strategy function's bars (moto's S3): windows from memory, restored from the streamer's spans when cold,
and only the spans a window needs are read, once."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.stores.archived_bars import ArchivedBars
from consumers.stores.memory import MemoryBarStore
from events.bar_archive import span_key
from events.dead_letters import DeadLetterList
from events.models import BarClosed
from events.streams import StreamKey
from tests.conftest import spot_day_bars
from tests.emulators.aws import CountingS3, SpanFiles, client

STREAM = StreamKey("binance", "BTC/USDT", "1m")


def _archive(s3: Any, bucket: str, bars: list[BarClosed], extra: bytes = b"") -> None:
    """What the streamer leaves in S3: each span's batches, one per line."""
    SpanFiles(s3, bucket).write(bars, extra)


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return client("s3", moto_endpoint)


def test_a_cold_function_restores_a_window_from_the_spans_it_needs(s3: Any, bar_bucket: str) -> None:
    bars = spot_day_bars(limit=200)  # from midnight: spans of 60 minutes
    _archive(s3, bar_bucket, bars[:150])
    counting = CountingS3(s3)
    store = ArchivedBars(counting, bar_bucket, MemoryBarStore(), DeadLetterList())
    store.add(bars[150])  # the bar the invocation was given
    window = store.window(STREAM, bars[150].open_time_ms, 30)
    assert window is not None and list(window.bars) == bars[121:151]
    assert counting.gets == [span_key("binance", "1m", bars[120].open_time_ms)]  # one span: minutes 120-179
    assert store.window(STREAM, bars[151].open_time_ms, 30) is None  # the next bar's probe reads nothing
    for bar in bars[151:200]:  # warm: every minute's bar is given, nothing is read
        store.add(bar)
        assert store.window(STREAM, bar.open_time_ms, 30) is not None
    assert len(counting.gets) == 1


def test_a_window_over_a_gap_reads_each_span_once_and_the_healed_bar_comes_as_a_late_batch(
    s3: Any, bar_bucket: str
) -> None:
    bars = spot_day_bars(limit=131)
    _archive(s3, bar_bucket, bars[:100] + bars[101:130])  # the streamer never had minute 100
    counting = CountingS3(s3)
    store = ArchivedBars(counting, bar_bucket, MemoryBarStore(), DeadLetterList())
    store.add(bars[129])
    for _ in range(5):  # the walk over candidate windows in one invocation: each span is read once
        assert store.window(STREAM, bars[129].open_time_ms, 40) is None
    assert sorted(counting.gets) == [span_key("binance", "1m", bars[n].open_time_ms) for n in (60, 120)]
    assert store.window(STREAM, bars[129].open_time_ms, 29) is not None  # after the gap: complete
    store.add(bars[130])  # the next minute: the gap's spans were read after their bars, so not again
    assert store.window(STREAM, bars[129].open_time_ms, 40) is None
    assert len(counting.gets) == 2
    store.add(bars[100])  # the streamer's backfill, published as a late batch
    assert store.window(STREAM, bars[129].open_time_ms, 40) is not None


def test_a_stream_too_young_for_its_window_is_not_read_again_each_minute(s3: Any, bar_bucket: str) -> None:
    bars = spot_day_bars(limit=40)
    counting = CountingS3(s3)
    store = ArchivedBars(counting, bar_bucket, MemoryBarStore(), DeadLetterList())
    for n, bar in enumerate(bars):
        _archive(s3, bar_bucket, bars[: n + 1])
        store.add(bar)
        assert (store.window(STREAM, bar.open_time_ms, 30) is None) == (n < 29)
    # once, cold: the hour before the stream began, where its window's missing bars would be
    assert counting.gets == [span_key("binance", "1m", bars[0].open_time_ms - 60_000)]


def test_another_instance_s_bars_are_read_back_from_s3(s3: Any, bar_bucket: str) -> None:
    """Concurrent instances each get some minutes; whatever one was not given, the streamer's spans hold."""
    bars = spot_day_bars(limit=60)
    one = ArchivedBars(s3, bar_bucket, MemoryBarStore(), DeadLetterList())
    for n in range(30, 60):
        _archive(s3, bar_bucket, bars[: n + 1])
        if n % 2:
            one.add(bars[n])
            assert one.window(STREAM, bars[n].open_time_ms, 30) is not None


def test_a_bad_line_in_a_span_is_dead_lettered_with_its_object_and_line(s3: Any, bar_bucket: str) -> None:
    bars = spot_day_bars(limit=40)
    _archive(s3, bar_bucket, bars[:39], extra=b"{not json\n")
    dead = DeadLetterList()
    store = ArchivedBars(s3, bar_bucket, MemoryBarStore(), dead)
    store.add(bars[39])
    assert store.window(STREAM, bars[39].open_time_ms, 30) is not None
    (letter,) = dead.letters
    assert letter.origin == f"s3://{bar_bucket}/{span_key('binance', '1m', bars[0].open_time_ms)}"
    assert ":40: not JSON" in letter.error


def test_only_the_wanted_symbols_are_kept_from_a_span(s3: Any, bar_bucket: str) -> None:
    btc = spot_day_bars(limit=31)
    eth = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in btc]
    _archive(s3, bar_bucket, btc[:30] + eth[:30])
    store = ArchivedBars(s3, bar_bucket, MemoryBarStore(), DeadLetterList(), wanted=lambda b: b.symbol == "BTC/USDT")
    store.add(btc[30])
    assert store.window(STREAM, btc[30].open_time_ms, 30) is not None
    assert store.memory.window(StreamKey("binance", "ETH/USDT", "1m"), eth[29].open_time_ms, 1) is None
