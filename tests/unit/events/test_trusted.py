"""The trusted constructor against pydantic's own, model by model: what this process builds unvalidated on its hot
paths must be the instance pydantic would have built (dump, JSON, fields set, copies), at the pinned pydantic."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from events.envelope import Envelope, wrap
from events.minute_batches import batches_of
from events.models import (
    EVENT_TYPES,
    BarClosed,
    BarsClosed,
    MinuteBar,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    TargetChanged,
    TrustedBars,
    minute_bar,
    new_order_id,
    trusted_bar,
)
from tests.conftest import REPO_ROOT, spot_day_bars

DAY = spot_day_bars(limit=120)


def assert_equivalent(trusted: BaseModel, validated: BaseModel, update: dict[str, Any]) -> None:
    assert type(trusted) is type(validated)
    assert trusted == validated
    assert trusted.model_dump() == validated.model_dump()
    assert trusted.model_dump_json() == validated.model_dump_json()  # byte for byte: field order included
    assert type(trusted.model_fields_set) is type(validated.model_fields_set) is set
    assert trusted.model_fields_set == validated.model_fields_set
    copied, expected = trusted.model_copy(update=update), validated.model_copy(update=update)
    assert copied == expected
    assert copied.model_fields_set == expected.model_fields_set
    assert trusted.model_fields_set == validated.model_fields_set  # the copy did not change the original's


def _bar_fields(bar: BarClosed, quote_volume: bool, trades: bool) -> dict[str, Any]:
    fields = {name: getattr(bar, name) for name in BarClosed.model_fields if name != "schema_version"}
    fields.update(quote_volume=bar.quote_volume if quote_volume else None, trades=bar.trades if trades else None)
    return fields


bars = st.builds(_bar_fields, st.sampled_from(DAY), st.booleans(), st.booleans())


@given(fields=bars)
def test_every_trusted_bar_is_the_bar_pydantic_builds(fields: dict[str, Any]) -> None:
    validated = BarClosed(**fields)
    update = {"close": Decimal("22685.40"), "symbol": "ETH/USDT"}
    columns = [fields[name] for name in ("open", "high", "low", "close", "volume", "quote_volume", "trades")]
    times = (fields["open_time_ms"], fields["close_time_ms"])
    assert_equivalent(BarClosed.trusted(**fields), validated, update)
    assert_equivalent(trusted_bar("binance", "BTC/USDT", "1m", *times, *columns), validated, update)
    assert_equivalent(TrustedBars("binance", "BTC/USDT", "1m").bar(*times, *columns), validated, update)


@given(rows=st.lists(bars, min_size=1, max_size=3, unique_by=lambda fields: fields["open_time_ms"]))
def test_a_batch_its_rows_and_their_bars_are_what_pydantic_builds(rows: list[dict[str, Any]]) -> None:
    day = [BarClosed(**fields) for fields in rows]
    bars = [bar.model_copy(update={"symbol": f"S{n}/USDT", "open_time_ms": day[0].open_time_ms,
                                   "close_time_ms": day[0].close_time_ms}) for n, bar in enumerate(day)]  # fmt: skip
    [batch] = batches_of(bars)
    validated_rows = [MinuteBar(**{name: getattr(bar, name) for name in MinuteBar.model_fields}) for bar in bars]
    for row, validated_row in zip(batch.bars, validated_rows, strict=True):
        assert_equivalent(row, validated_row, {"close": Decimal(1)})
    validated_batch = BarsClosed(exchange="binance", timeframe="1m", open_time_ms=day[0].open_time_ms,
                                 symbols=[row.symbol for row in validated_rows], bars=validated_rows)  # fmt: skip
    assert_equivalent(batch, validated_batch, {"exchange": "okx"})
    for bar, validated_bar in zip(batch.bar_events(), bars, strict=True):
        assert_equivalent(bar, BarClosed(**validated_bar.model_dump(exclude={"schema_version"})), {"symbol": "X/USDT"})
    assert_equivalent(minute_bar(bars[0]), validated_rows[0], {"trades": 1})


ORDER = {
    "order_id": new_order_id("sma", "binance", "BTC/USDT", DAY[0].open_time_ms),
    "strategy": "sma", "exchange": "binance", "symbol": "BTC/USDT", "side": "buy", "qty": Decimal("0.50"),
    "bar_open_time_ms": DAY[0].open_time_ms,
}  # fmt: skip
ORDER_EVENTS: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (TargetChanged, {"strategy": "sma", "exchange": "binance", "symbol": "BTC/USDT",
                     "bar_open_time_ms": DAY[0].open_time_ms, "previous_target": Decimal(0), "target": Decimal("1.0")}),
    (OrderRequested, {**ORDER, "target": Decimal("0.5"), "reference_price": Decimal("22685.44")}),
    (OrderFilled, {**ORDER, "price": Decimal("22685.44"), "fee": Decimal("11.34272")}),
    (OrderFilled, {**ORDER, "price": Decimal("22685.44"), "fee": Decimal(0), "fee_base": Decimal("0.0005"),
                   "fee_other": {"BNB": Decimal("0.01")}}),
    (OrderRejected, {**ORDER, "reason": "kill switch engaged: operator"}),
]  # fmt: skip


@pytest.mark.parametrize(("model", "fields"), ORDER_EVENTS, ids=lambda value: getattr(value, "__name__", ""))
def test_a_trusted_event_is_the_event_pydantic_builds(model: Any, fields: dict[str, Any]) -> None:
    assert_equivalent(model.trusted(**fields), model(**fields), {"symbol": "ETH/USDT"})


@pytest.mark.parametrize("source", [None, "stds.replay"])
@pytest.mark.parametrize("make", [lambda: DAY[0], lambda: ORDER_EVENTS[1][0](**ORDER_EVENTS[1][1])])
def test_a_wrapped_event_is_the_envelope_pydantic_builds(make: Callable[[], Any], source: str | None) -> None:
    event, time = make(), datetime(2023, 1, 21, 0, 1, tzinfo=UTC)
    validated = Envelope.model_validate(
        {"id": event.event_id, "detail-type": type(event).__name__, "source": source or type(event).source,
         "time": time, "resources": [], "detail": event}
    )  # fmt: skip
    wrapped = wrap(event, time, source)
    assert_equivalent(wrapped, validated, {"time": datetime(2024, 1, 1, tzinfo=UTC)})
    assert wrapped.to_json_dict() == validated.to_json_dict()


def test_every_event_model_is_covered() -> None:
    covered = {BarClosed, BarsClosed} | {model for model, _ in ORDER_EVENTS}
    assert covered == set(EVENT_TYPES.values())


def test_pydantic_is_pinned_to_the_minor_versions_this_suite_proves() -> None:
    """The trusted constructor writes pydantic's instance slots: a pydantic outside the pin may lay them out
    differently, so the pin moves only with a green run of this file on the new minor."""
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [line for line in dependencies if line.startswith("pydantic")]
    found = re.fullmatch(r"pydantic>=(\d+)\.(\d+)(?:\.\d+)?,<(\d+)\.(\d+)", pin)
    assert found, f"pyproject.toml: pin pydantic to a minor range (pydantic>=2.X,<2.Y), got {pin!r}"
    low, high = (int(found[1]), int(found[2])), (int(found[3]), int(found[4]))
    installed = tuple(int(part) for part in pydantic.VERSION.split(".")[:2])
    assert low <= installed < high
    assert high == (low[0], low[1] + 1), "one minor at a time: each one proved by this file"
