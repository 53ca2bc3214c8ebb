"""Exchange adapters read real recorded websocket messages: closed candles become bars, the rest is not."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from producers.exchanges.adapter import MalformedMessage
from producers.exchanges.binance import BinanceSpot
from producers.exchanges.okx import OkxSpot
from tests.conftest import SHARED_DATA

WS = SHARED_DATA / "ws"


def test_binance_futures_capture_yields_exactly_its_closed_klines() -> None:
    adapter = BinanceSpot()
    lines = (WS / "binance-usdm-kline_1m-combined.jsonl").read_text().splitlines()
    bars = [bar for line in lines for bar in adapter.parse(line)]
    closed = [orjson.loads(line)["data"]["k"] for line in lines if '"x":true' in line]
    assert len(bars) == len(closed) == 4
    for bar, kline in zip(bars, closed, strict=True):
        assert (bar.open_time_ms, bar.close_time_ms) == (kline["t"], kline["T"])
        assert (bar.open, bar.close, bar.volume) == (Decimal(kline["o"]), Decimal(kline["c"]), Decimal(kline["v"]))
        assert bar.symbol.endswith("/USDT") and bar.timeframe == "1m"


def test_binance_us_closed_kline_and_open_ones() -> None:
    adapter = BinanceSpot()
    adapter.subscription("OMG/BUSD", "1m")
    lines = (WS / "binanceus-spot-kline_1m-combined.jsonl").read_text().splitlines()
    [bar] = [bar for line in lines for bar in adapter.parse(line)]
    assert (bar.symbol, bar.close, bar.trades) == ("OMG/BUSD", Decimal("13.76640000"), 14)


def test_binance_subscribe_messages_respect_the_batch_size() -> None:
    adapter = BinanceSpot()
    subscriptions = [adapter.subscription(f"C{n}/USDT", "1m") for n in range(450)]
    messages = [orjson.loads(m) for m in adapter.subscribe_messages(subscriptions, first_id=7)]
    assert [len(m["params"]) for m in messages] == [200, 200, 50]
    assert [m["id"] for m in messages] == [7, 8, 9]
    assert messages[0]["params"][0] == "c0usdt@kline_1m"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ('{"stream":"btcusdt@kline_1m","data":{"e":"kline","k":', "not JSON"),
        ('{"stream":"x","data":{"e":"trade"}}', "not a kline event"),
        ('{"data":{"e":"kline","k":{"s":"BTCUSDT","i":"1m","t":0,"T":59999,"x":true}}}', "missing or not a number"),
        (
            '{"data":{"e":"kline","k":{"s":"BTCUSDT","i":"1m","t":0,"T":59999,"o":"1","h":"1","l":"2","c":"1",'
            '"v":"1","q":"1","n":1,"x":true}}}',
            "high 1 < low 2",
        ),
        ("[1,2]", "expected a JSON object"),
    ],
)
def test_binance_malformed_messages_are_refused_with_a_reason(message: str, error: str) -> None:
    with pytest.raises(MalformedMessage, match=error):
        BinanceSpot().parse(message)


def test_binance_acknowledgement_is_not_a_bar() -> None:
    assert BinanceSpot().parse('{"result":null,"id":1}') == []


def test_okx_candle_confirmed_only() -> None:
    adapter = OkxSpot()
    message = {
        "arg": {"channel": "candle1m", "instId": "BTC-USDT"},
        "data": [
            ["1674259260000", "22685.44", "22690", "22680.1", "22688.8", "12.5", "283600.2", "283600.2", "0"],
            ["1674259200000", "22666", "22692.66", "22658.71", "22685.44", "338.71", "7680391.66", "7680391.66", "1"],
        ],
    }
    [bar] = adapter.parse(orjson.dumps(message))
    assert (bar.exchange, bar.symbol, bar.open_time_ms, bar.close_time_ms) == (
        "okx",
        "BTC/USDT",
        1674259200000,
        1674259259999,
    )
    assert bar.quote_volume == Decimal("7680391.66")
    assert adapter.parse("pong") == []
    assert adapter.parse('{"event":"subscribe","arg":{"channel":"candle1m","instId":"BTC-USDT"}}') == []
    [subscribe] = adapter.subscribe_messages([adapter.subscription("BTC/USDT", "1m")], first_id=1)
    assert orjson.loads(subscribe) == {"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]}
    with pytest.raises(MalformedMessage, match="error from the exchange"):
        adapter.parse('{"event":"error","code":"60012","msg":"Invalid request"}')
