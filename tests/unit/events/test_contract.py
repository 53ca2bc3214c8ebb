"""The event contract: deterministic ids, exact JSON round trips, clear refusals, exported schemas."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from consumers.stores.ports import AccountKey
from events.codec import InvalidEvent, decode, encode
from events.envelope import wrap
from events.ids import order_event_id
from events.models import BarClosed
from infra.cli import main
from tests.conftest import first_spot_bar
from tests.factories import order_requested

BAR = first_spot_bar()


def test_a_bar_id_comes_from_its_key_only() -> None:
    again = BAR.model_copy(update={"volume": Decimal(0)})
    assert BAR.event_id == again.event_id == "bar:binance:BTC/USDT:1m:1674259200000"


def test_order_ids_are_valid_binance_client_order_ids_whatever_the_strategy_name() -> None:
    order_id = order_event_id("a-very-long-strategy-name-with-many-words" * 3, "binance", "BTC/USDT", 1)
    assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", order_id)
    assert order_id == order_event_id("a-very-long-strategy-name-with-many-words" * 3, "binance", "BTC/USDT", 1)
    assert order_id != order_event_id("a-very-long-strategy-name-with-many-words" * 3, "binance", "BTC/USDT", 2)


@pytest.mark.parametrize("order_id", ["", "x" * 37, "stds-a b", "stds-ü"])
def test_an_order_event_whose_id_binance_and_dynamodb_would_refuse_is_refused_on_arrival(order_id: str) -> None:
    """An empty id reached DynamoDB's GetItem, which raised instead of the handler refusing the event."""
    order = order_requested(AccountKey("sma", "binance", "BTC/USDT"), 1_674_259_200_000, "1")
    document = json.loads(encode(wrap(order, BAR.closed_at)))
    document["detail"]["order_id"] = order_id
    with pytest.raises(InvalidEvent, match="order_id: String should match pattern"):
        decode(json.dumps(document), "queue/8")


def test_round_trip_is_exact_and_decimals_are_strings() -> None:
    encoded = encode(wrap(BAR, BAR.closed_at))
    document = json.loads(encoded)
    assert document["detail"]["close"] == "22685.44000000"  # the file's text, trailing zeros kept
    assert document["detail-type"] == "BarClosed" and document["time"] == "2023-01-21T00:01:00Z"
    assert encode(decode(encoded)) == encoded


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update({"detail-type": "Nope"}), "unknown detail-type 'Nope'"),
        (lambda d: d["detail"].update({"close": "abc"}), "close: Input should be a valid decimal"),
        (lambda d: d["detail"].update({"surprise": 1}), "surprise: Extra inputs are not permitted"),
        (lambda d: d["detail"].pop("symbol"), "symbol: Field required"),
    ],
)
def test_a_bad_event_names_its_origin_and_id(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(encode(wrap(BAR, BAR.closed_at)))
    mutate(document)
    with pytest.raises(InvalidEvent) as refused:
        decode(json.dumps(document), "queue/7")
    assert str(refused.value).startswith(f"queue/7: event {BAR.event_id}")
    assert message in str(refused.value)


def test_schema_command_writes_one_schema_per_event(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    names = sorted(path.stem for path in tmp_path.glob("*.json"))
    assert names == ["BarClosed", "BarsClosed", "OrderFilled", "OrderRejected", "OrderRequested", "TargetChanged"]
    schema = json.loads((tmp_path / "BarClosed.json").read_text())
    assert schema["properties"]["detail-type"]["const"] == "BarClosed"
    assert "close" in schema["properties"]["detail"]["required"]
    assert BarClosed.model_fields["close"].is_required()
