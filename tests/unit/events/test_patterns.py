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


# Arrays of objects, as a minute batch carries its bars. EventBridge flattens an event to its leaf values:
# an array of objects is matched element by element, never mixing two elements (array consistency).
BATCH: dict[str, Any] = {
    "detail-type": "BarsClosed",
    "detail": {
        "timeframe": "1m",
        "bars": [
            {"symbol": "BTC/USDT", "close": "22462.58", "trades": 1, "late": False},
            {"symbol": "ETH/USDT", "close": "1630.1", "trades": 2, "fee": 3, "tags": ["a", ["b"]]},
        ],
        "empty": [],
        "grid": [[1, 2], [3, [4]]],
        "meta": {"inner": 1},
        "mixed": [1, {"inner": "x"}],
        "nested_arrays": [[{"venue": "okx"}], [{"venue": "kraken"}]],
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"bars": {"symbol": ["ETH/USDT"]}}}, True),
        ({"detail": {"bars": {"symbol": ["SOL/USDT", "BTC/USDT"]}}}, True),
        ({"detail": {"bars": {"symbol": ["SOL/USDT"]}}}, False),
        ({"detail": {"bars": {"symbol": ["ETH/USDT"], "trades": [2]}}}, True),
        ({"detail": {"bars": {"symbol": ["BTC/USDT"], "trades": [2]}}}, False),  # two elements: no match
        ({"detail": {"bars": {"symbol": [{"prefix": "ETH"}], "trades": [{"numeric": [">", 1]}]}}}, True),
        ({"detail": {"bars": {"symbol": [{"suffix": "USDT"}], "late": [False]}}}, True),
        ({"detail": {"bars": {"symbol": [{"equals-ignore-case": "eth/usdt"}], "trades": [1]}}}, False),
        ({"detail": {"bars": {"symbol": [{"wildcard": "*TH/*"}], "close": ["1630.1"]}}}, True),
        ({"detail": {"bars": {"symbol": [{"anything-but": "BTC/USDT"}], "trades": [1]}}}, False),
        ({"detail": {"bars": {"symbol": [{"anything-but": "BTC/USDT"}], "trades": [2]}}}, True),
        ({"detail": {"bars": {"tags": ["b"]}}}, True),  # nested arrays are flattened
        # `exists: false` sorted before every positive field is checked against all elements ...
        ({"detail": {"bars": {"fee": [{"exists": False}]}}}, False),
        ({"detail": {"bars": {"fee": [{"exists": False}], "symbol": ["BTC/USDT"]}}}, False),
        # ... and after one, only within the element that matched it
        ({"detail": {"bars": {"close": ["22462.58"], "fee": [{"exists": False}]}}}, True),
        ({"detail": {"bars": {"close": ["1630.1"], "fee": [{"exists": False}]}}}, False),
        ({"detail": {"bars": {"venue": [{"exists": False}]}}}, True),
        ({"detail": {"bars": {"fee": [{"exists": True}], "symbol": ["ETH/USDT"]}}}, True),
        ({"detail": {"bars": {"fee": [{"exists": True}], "symbol": ["BTC/USDT"]}}}, False),
        ({"detail": {"nested_arrays": {"venue": ["kraken"]}}}, True),
        ({"detail": {"bars": {"$or": [{"fee": [3]}, {"trades": [9]}], "symbol": ["ETH/USDT"]}}}, True),
        ({"detail": {"bars": {"$or": [{"fee": [3]}, {"trades": [9]}], "symbol": ["BTC/USDT"]}}}, False),
        # a leaf pattern meeting an object: the object is no leaf, so the field has no value to match
        ({"detail": {"bars": ["BTC/USDT"]}}, False),
        ({"detail": {"meta": [{"prefix": "x"}]}}, False),
        ({"detail": {"meta": [{"numeric": [">", 0]}]}}, False),
        ({"detail": {"meta": [{"anything-but": "x"}]}}, False),
        ({"detail": {"meta": [{"exists": True}]}}, False),
        ({"detail": {"meta": [{"exists": False}]}}, True),  # exists looks at leaves only
        ({"detail": {"bars": [{"exists": False}]}}, True),
        ({"detail": {"mixed": [1]}}, True),  # the scalar elements of a mixed array are its leaves
        ({"detail": {"mixed": [{"anything-but": 1}]}}, False),
        ({"detail": {"mixed": {"inner": ["x"]}}}, True),
        # an empty array has no leaves: it is absent
        ({"detail": {"empty": [{"exists": True}]}}, False),
        ({"detail": {"empty": [{"exists": False}]}}, True),
        ({"detail": {"empty": [{"anything-but": "x"}]}}, False),
        ({"detail": {"empty": {"inner": [{"exists": False}]}}}, True),
        # multi-level arrays of scalars are flattened
        ({"detail": {"grid": [4]}}, True),
        ({"detail": {"grid": [{"numeric": [">", 3.5]}]}}, True),
        ({"detail": {"grid": [5]}}, False),
        # a pattern object meeting a scalar: no leaf below it, only `exists: false` can match
        ({"detail": {"timeframe": {"inner": [{"exists": False}]}}}, True),
        ({"detail": {"timeframe": {"inner": [{"exists": True}]}}}, False),
        ({"detail": {"timeframe": {"inner": ["1m"]}}}, False),
        ({"detail-type": {"inner": [{"exists": False}], "other": [{"exists": False}]}}, True),
        ({"detail": {"meta": {"inner": [1]}}}, True),
        ({"detail": {"meta": {"inner": {"deeper": [{"exists": False}]}}}}, True),
    ],
)
def test_arrays_and_objects_match_as_eventbridge_flattens_them(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, BATCH) is expected


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["a", "B", "10.0.0.1"]),
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=12,
)
_MATCHERS = st.one_of(
    _JSON_SCALARS.filter(lambda value: not isinstance(value, float)),
    st.sampled_from(
        [
            {"prefix": "a"}, {"suffix": "B"}, {"equals-ignore-case": "b"}, {"wildcard": "*0*"},
            {"numeric": [">", 0]}, {"numeric": [">=", -1, "<", 2]}, {"cidr": "10.0.0.0/8"},
            {"anything-but": "a"}, {"anything-but": [1, 2]}, {"anything-but": {"prefix": "B"}},
            {"exists": True}, {"exists": False},
        ]
    ),
)  # fmt: skip
_PATTERNS = st.recursive(
    st.lists(_MATCHERS, min_size=1, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, min_size=1, max_size=3),
    max_leaves=6,
).filter(lambda pattern: isinstance(pattern, dict))


@given(pattern=_PATTERNS, event=st.dictionaries(st.sampled_from(["a", "b", "c"]), _JSON, max_size=3))
def test_a_matcher_answers_every_event_and_never_raises(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    assert compile_pattern(pattern)(event) in (True, False)


@given(
    pattern=_PATTERNS,
    event=st.dictionaries(st.sampled_from(["a", "b", "c"]), _JSON, max_size=3),
    key=st.sampled_from(["a", "b", "c"]),
)
def test_an_array_of_objects_matches_when_some_element_would_alone(
    pattern: dict[str, Any], event: dict[str, Any], key: str
) -> None:
    """Without `exists: false`, a pattern object matches an array of objects iff it matches one of them."""
    if "exists" in str(pattern).replace("'exists': True", ""):
        return
    elements = [event, {key: "a"}]
    alone = [compile_pattern({"x": pattern})({"x": element}) for element in elements]
    assert compile_pattern({"x": pattern})({"x": elements}) is any(alone)
