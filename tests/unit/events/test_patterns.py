"""EventBridge pattern semantics, identical for a JSON dict and the in-process pydantic envelope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.envelope import Envelope, time_of_ms, wrap
from events.models import BarClosed
from events.patterns import InvalidPattern, compile_pattern

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "abc",
    "detail-type": "BarClosed",
    "source": "stds.producers",
    "time": "2023-01-21T00:01:00Z",
    "resources": [],
    "detail": {
        "symbol": "BTC/USDT",
        "exchange": "binance",
        "open_time_ms": 1674259200000,
        "price": 22462.58,
        "close": "22462.58",
        "tags": ["spot", "Majors"],
        "ip": "10.0.0.17",
        "backfilled": False,
        "note": None,
        "legs": [{"venue": "binance", "qty": 1}, {"venue": "okx", "qty": 3}],
    },
}


def matches(pattern: dict[str, Any], event: dict[str, Any] = EVENT) -> bool:
    return compile_pattern(pattern)(event)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail-type": ["BarClosed"]}, True),
        ({"detail-type": ["OrderFilled", "BarClosed"]}, True),
        ({"detail-type": ["barclosed"]}, False),
        ({"detail": {"symbol": ["BTC/USDT"], "exchange": ["binance"]}}, True),
        ({"detail": {"symbol": ["BTC/USDT"], "exchange": ["okx"]}}, False),
        ({"detail": {"price": [22462.58]}}, True),
        ({"detail": {"close": [22462.58]}}, False),  # a string is not a number
        ({"detail": {"backfilled": [False]}}, True),
        ({"detail": {"backfilled": [0]}}, False),
        ({"detail": {"note": [None]}}, True),
        ({"detail": {"tags": ["Majors"]}}, True),  # any element of an array
        ({"detail": {"tags": ["majors"]}}, False),
        ({"detail": {"symbol": [{"prefix": "BTC/"}]}}, True),
        ({"detail": {"symbol": [{"prefix": {"equals-ignore-case": "btc/"}}]}}, True),
        ({"detail": {"symbol": [{"suffix": "/USDT"}]}}, True),
        ({"detail": {"symbol": [{"suffix": {"equals-ignore-case": "/usdt"}}]}}, True),
        ({"detail": {"symbol": [{"equals-ignore-case": "btc/usdt"}]}}, True),
        ({"detail": {"symbol": [{"wildcard": "B*/*T"}]}}, True),
        ({"detail": {"symbol": [{"wildcard": "B*/*X"}]}}, False),
        ({"detail": {"symbol": [{"anything-but": "ETH/USDT"}]}}, True),
        ({"detail": {"symbol": [{"anything-but": ["ETH/USDT", "BTC/USDT"]}]}}, False),
        ({"detail": {"symbol": [{"anything-but": {"prefix": "BTC"}}]}}, False),
        ({"detail": {"symbol": [{"anything-but": {"suffix": "USDC"}}]}}, True),
        ({"detail": {"symbol": [{"anything-but": {"equals-ignore-case": ["btc/usdt"]}}]}}, False),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),  # anything-but needs the field
        ({"detail": {"price": [{"numeric": [">", 20000, "<=", 23000]}]}}, True),
        ({"detail": {"price": [{"numeric": ["<", 20000]}]}}, False),
        ({"detail": {"close": [{"numeric": [">", 0]}]}}, False),
        ({"detail": {"open_time_ms": [{"numeric": ["=", 1674259200000]}]}}, True),
        ({"detail": {"symbol": [{"exists": True}]}}, True),
        ({"detail": {"missing": [{"exists": True}]}}, False),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"symbol": [{"exists": False}]}}, False),
        ({"detail": {"missing": ["x"]}}, False),
        ({"absent": {"inner": [{"exists": False}]}}, True),
        ({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"detail": {"ip": [{"cidr": "10.0.1.0/24"}]}}, False),
        ({"detail": {"legs": {"venue": ["okx"]}}}, True),  # nested objects inside an array
        ({"detail": {"legs": {"venue": ["kraken"]}}}, False),
        ({"$or": [{"detail-type": ["OrderFilled"]}, {"detail": {"symbol": ["BTC/USDT"]}}]}, True),
        ({"$or": [{"detail-type": ["OrderFilled"]}, {"detail": {"symbol": ["ETH/USDT"]}}]}, False),
        ({"detail": {"$or": [{"symbol": ["ETH/USDT"]}, {"exchange": ["binance"]}]}}, True),
        ({"source": ["stds.producers"], "detail": {"symbol": ["BTC/USDT"], "price": [{"numeric": [">", 1]}]}}, True),
    ],
)
def test_pattern_semantics(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern) is expected


def test_wildcard_escaped_star_is_literal() -> None:
    assert matches({"detail": {"symbol": [{"wildcard": "a\\*b"}]}}, {"detail": {"symbol": "a*b"}})
    assert not matches({"detail": {"symbol": [{"wildcard": "a\\*b"}]}}, {"detail": {"symbol": "axxb"}})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({}, "at least one field"),
        ({"detail-type": "BarClosed"}, "detail-type: a pattern value must be an array"),
        ({"detail": {"symbol": []}}, "detail.symbol: an empty array matches nothing"),
        ({"detail": {"symbol": [{"starts": "B"}]}}, "detail.symbol: unknown operator 'starts'"),
        ({"detail": {"price": [{"numeric": [">"]}]}}, "detail.price: numeric needs operator/value pairs"),
        ({"detail": {"price": [{"numeric": ["~", 1]}]}}, "detail.price: numeric needs operator/value pairs"),
        ({"detail": {"price": [{"numeric": [">", 1, ">", 2]}]}}, "one lower (> or >=) and one upper"),
        ({"detail": {"symbol": [{"prefix": 1}]}}, "detail.symbol: prefix takes a string"),
        ({"detail": {"symbol": [{"exists": "yes"}]}}, "exists takes true or false"),
        ({"$or": [{"source": ["a"]}]}, "$or needs an array of at least two patterns"),
        ({"detail": {"ip": [{"cidr": "not-a-net"}]}}, "cidr 'not-a-net' is not a network"),
        ({"detail": {"symbol": [{"anything-but": {"numeric": [">", 1]}}]}}, "'numeric' is not allowed here"),
        ({"detail": {}}, "detail: an object in a pattern needs at least one field"),
    ],
)
def test_invalid_patterns_are_refused_naming_the_path(pattern: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPattern) as refused:
        compile_pattern(pattern)
    assert message in str(refused.value)


def _envelope(symbol: str, close: str, open_time_ms: int, backfilled: bool) -> Envelope:
    bar = BarClosed(
        exchange="binance",
        symbol=symbol,
        timeframe="1m",
        open_time_ms=open_time_ms,
        close_time_ms=open_time_ms + 59_999,
        open=Decimal(close),
        high=Decimal(close),
        low=Decimal(close),
        close=Decimal(close),
        volume=Decimal(1),
        backfilled=backfilled,
    )
    return wrap(bar, time_of_ms(open_time_ms + 60_000))


PATTERNS: list[dict[str, Any]] = [
    {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}},
    {"detail": {"symbol": [{"prefix": "ETH"}], "backfilled": [True]}},
    {"detail": {"close": ["100.5"]}},
    {"detail": {"close": [{"numeric": [">", 0]}]}},
    {"detail": {"open_time_ms": [{"numeric": [">=", 1_700_000_000_000]}]}},
    {"time": [{"prefix": "2023-"}]},
    {"detail": {"quote_volume": [None], "trades": [{"exists": True}]}},
    {"detail": {"symbol": [{"anything-but": {"suffix": "USDT"}}]}},
    {"$or": [{"detail": {"backfilled": [False]}}, {"detail": {"symbol": [{"wildcard": "*/BTC"}]}}]},
]


@given(
    symbol=st.sampled_from(["BTC/USDT", "ETH/USDT", "ETH/BTC", "SOL/USDC"]),
    close=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2).map(str),
    open_time_ms=st.integers(1_600_000_000_000, 1_760_000_000_000).map(lambda ms: ms - ms % 60_000),
    backfilled=st.booleans(),
)
def test_pydantic_envelope_and_its_json_match_alike(
    symbol: str, close: str, open_time_ms: int, backfilled: bool
) -> None:
    envelope = _envelope(symbol, close, open_time_ms, backfilled)
    as_json = envelope.to_json_dict()
    for pattern in PATTERNS:
        matcher = compile_pattern(pattern)
        assert matcher(envelope) == matcher(as_json), pattern
