"""A minute of bars as billed chunks, and the rule that selects a batch exactly when the bar rule selects a row."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.bar_archive import ArchiveLineError, decode_object, encode_line, span_key, span_keys
from events.codec import InvalidEvent, from_dict
from events.envelope import wrap
from events.eventbridge_bus import EventBridgeBus, entry_size
from events.minute_batches import BILLED_CHUNK_BYTES, MAX_EVENT_BYTES, batch_pattern, batches_of
from events.models import BarClosed, BarsClosed
from events.patterns import InvalidPattern, compile_pattern
from events.sns_bus import SnsBus
from events.sns_bus import entry_size as sns_entry_size

MINUTE = 1_740_834_000_000  # 2025-03-01 13:00 UTC


def bar(symbol: str, open_time_ms: int = MINUTE, close: str = "2.5", exchange: str = "binance") -> BarClosed:
    return BarClosed(
        exchange=exchange,
        symbol=symbol,
        timeframe="1m",
        open_time_ms=open_time_ms,
        close_time_ms=open_time_ms + 59_999,
        open=Decimal("2.4"),
        high=Decimal(3),
        low=Decimal(2),
        close=Decimal(close),
        volume=Decimal("1234.5678"),
        quote_volume=Decimal("3086.4195"),
        trades=321,
    )


def test_a_minute_of_many_symbols_is_one_event_up_to_the_largest_aws_accepts() -> None:
    bars = [bar(f"COIN{n}/USDT") for n in range(1000)]
    (batch,) = batches_of(bars)  # one invocation per strategy, billed as 3 chunks of 64 KB
    assert batch.bar_events() == bars
    entry = EventBridgeBus(None, "bus")._entry(wrap(batch))
    assert 2 * BILLED_CHUNK_BYTES < entry_size(entry) <= 3 * BILLED_CHUNK_BYTES
    many = [bar(f"COIN{n}/USDT") for n in range(3000)]
    batches = batches_of(many)
    assert len(batches) == 3 and [b for batch in batches for b in batch.bar_events()] == many
    for batch in batches:  # each entry within what EventBridge and SNS (its attributes counted) accept
        assert entry_size(EventBridgeBus(None, "bus")._entry(wrap(batch))) <= MAX_EVENT_BYTES
        assert sns_entry_size(SnsBus(None, "arn:aws:sns:ap-northeast-1:1:t")._entry(0, wrap(batch))) <= MAX_EVENT_BYTES


def test_batches_split_by_exchange_and_open_time_and_keep_a_symbols_first_bar() -> None:
    first = bar("BTC/USDT", close="2.5")
    batches = batches_of(
        [first, bar("BTC/USDT", MINUTE + 60_000), bar("BTC/USDT", close="2.6"), bar("BTC/USDT", exchange="okx")]
    )
    assert [(b.exchange, b.open_time_ms, len(b.bars)) for b in batches] == [
        ("binance", MINUTE, 1),
        ("binance", MINUTE + 60_000, 1),
        ("okx", MINUTE, 1),
    ]
    assert batches[0].bar_events() == [first]


def test_a_batch_from_outside_is_checked_row_by_row() -> None:
    detail = orjson.loads(batches_of([bar("BTC/USDT"), bar("ETH/USDT")])[0].model_dump_json())
    detail["bars"][1]["high"] = "1"  # below the low
    envelope = {"id": "x", "detail-type": "BarsClosed", "source": "stds.producers", "time": "2025-03-01T13:01:00Z"}
    with pytest.raises(InvalidEvent, match=r"bars: ETH/USDT: .*high"):
        from_dict({**envelope, "detail": detail})
    detail["bars"][1] = dict(detail["bars"][0])
    detail["symbols"] = ["BTC/USDT", "BTC/USDT"]
    with pytest.raises(InvalidEvent, match="BTC/USDT appears twice"):
        from_dict({**envelope, "detail": detail})
    detail["symbols"] = ["ETH/USDT", "BTC/USDT"]
    with pytest.raises(InvalidEvent, match="symbols: must list the rows' symbols"):
        from_dict({**envelope, "detail": detail})
    detail["bars"], detail["symbols"] = [], []
    with pytest.raises(InvalidEvent, match="bars"):
        from_dict({**envelope, "detail": detail})


def test_the_batch_id_is_the_same_fact_whatever_the_row_order() -> None:
    one = batches_of([bar("A/USDT"), bar("B/USDT")])[0]
    other = batches_of([bar("B/USDT"), bar("A/USDT")])[0]
    assert one.event_id == other.event_id
    assert one.event_id != batches_of([bar("A/USDT")])[0].event_id


SYMBOLS = [f"S{n}/USDT" for n in range(6)]
EXACT_PATTERNS = [  # on what a batch carries: the batch rule selects exactly the batches holding a wanted bar
    {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1m"]}},
    {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1m"], "symbol": ["S1/USDT", "S4/USDT"]}},
    {"detail-type": ["BarClosed"], "detail": {"exchange": ["okx"], "symbol": ["S1/USDT"]}},
    {"detail-type": ["BarClosed"], "detail": {"$or": [{"symbol": ["S0/USDT"]}, {"exchange": ["okx"]}]}},
    {"detail-type": ["BarClosed"], "detail": {"symbol": [{"prefix": "S2"}]}},
]
ROW_PATTERNS = [  # on a row's values too: the batch rule may let more through; the function keeps the rows
    {"detail-type": ["BarClosed"], "detail": {"symbol": [{"prefix": "S2"}], "close": [{"numeric": [">", 2.55]}]}},
    {"detail-type": ["BarClosed"], "detail": {"$or": [{"symbol": ["S0/USDT"]}, {"backfilled": [True]}]}},
]


def _matches(pattern: dict[str, object], exchange: str, rows: list[tuple[str, str]]) -> tuple[bool, bool]:
    """(the batch rule selects the batch, the bar rule selects one of its rows)"""
    bars = [bar(symbol, close=close, exchange=exchange) for symbol, close in rows]
    batch = batches_of(bars)[0]
    by_bar = compile_pattern(pattern)
    by_batch = compile_pattern(batch_pattern(pattern))
    any_row = any(by_bar(wrap(b).to_json_dict()) for b in batch.bar_events())
    return by_batch(wrap(batch).to_json_dict()), any_row


ROWS = st.lists(st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(["2.5", "2.6"])), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXACT_PATTERNS), st.sampled_from(["binance", "okx"]), ROWS)
def test_a_batch_rule_matches_exactly_when_the_bar_rule_matches_a_row(
    pattern: dict[str, object], exchange: str, rows: list[tuple[str, str]]
) -> None:
    by_batch, any_row = _matches(pattern, exchange, rows)
    assert by_batch == any_row


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ROW_PATTERNS), st.sampled_from(["binance", "okx"]), ROWS)
def test_a_batch_rule_never_misses_a_batch_holding_a_wanted_bar(
    pattern: dict[str, object], exchange: str, rows: list[tuple[str, str]]
) -> None:
    by_batch, any_row = _matches(pattern, exchange, rows)
    assert by_batch or not any_row


def test_patterns_a_batch_cannot_carry_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidPattern, match=r"detail\.closing"):
        batch_pattern({"detail-type": ["BarClosed"], "detail": {"closing": [1]}})
    with pytest.raises(InvalidPattern, match="BarClosed"):
        batch_pattern({"detail-type": ["OrderFilled"]})
    assert batch_pattern({"detail-type": ["BarClosed"], "detail": {"close": [{"numeric": [">", 1]}]}}) == {
        "detail-type": ["BarsClosed"]
    }


def test_archive_objects_span_an_hour_of_minutes_and_name_a_bad_line() -> None:
    assert span_key("binance", "1m", MINUTE + 59 * 60_000) == "bars/binance/1m/2025-03-01T13-00.jsonl"
    assert span_keys("binance", "1m", MINUTE - 1, MINUTE + 3_600_000) == [
        "bars/binance/1m/2025-03-01T12-00.jsonl",
        "bars/binance/1m/2025-03-01T13-00.jsonl",
        "bars/binance/1m/2025-03-01T14-00.jsonl",
    ]
    batch = batches_of([bar("BTC/USDT"), bar("ETH/USDT")])[0]
    body = encode_line(batch) + b'{"not": "a batch"}\n' + encode_line(batches_of([bar("BTC/USDT", MINUTE + 60_000)])[0])
    read = list(decode_object(body, "s3://b/k"))
    assert [r for r in read if isinstance(r, BarClosed)] == [
        bar("BTC/USDT"),
        bar("ETH/USDT"),
        bar("BTC/USDT", MINUTE + 60_000),
    ]
    (error,) = [r for r in read if isinstance(r, ArchiveLineError)]
    assert str(error).startswith("s3://b/k:2: ")


def test_a_batch_is_an_event_type_with_its_rows_in_the_detail() -> None:
    batch = batches_of([bar("BTC/USDT")])[0]
    round_trip = from_dict(wrap(batch).to_json_dict())
    assert isinstance(round_trip.detail, BarsClosed)
    assert round_trip.detail == batch
