"""Binance spot market streams: `<symbol>@kline_<interval>` on combined-stream connections."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from events.bar_checks import bar_problem
from events.models import BarClosed
from producers.exchanges.adapter import MalformedMessage, Subscription
from producers.symbols import unified_symbol


class BinanceSpot:
    """Connections go to `/stream` and subscribe with SUBSCRIBE messages, so one URL serves any number
    of streams; Binance allows 1024 streams per connection and 5 incoming messages per second."""

    exchange: str = "binance"
    default_ws_url: str = "wss://stream.binance.com:9443"
    max_streams_per_connection: int = 1024
    subscribe_batch: int = 200
    subscribe_messages_per_second: float = 4.0  # under the limit of 5, leaving room for pongs
    keepalive_message: str | None = None  # Binance pings us; websockets answers the pings itself

    def __init__(self) -> None:
        self._symbols: dict[str, str] = {}  # market id → unified symbol, for the streams we asked for

    def subscription(self, symbol: str, timeframe: str) -> Subscription:
        market_id = symbol.replace("/", "").upper()
        self._symbols[market_id] = symbol
        return Subscription(symbol, market_id, timeframe)

    def connection_url(self, ws_base: str) -> str:
        return f"{ws_base.rstrip('/')}/stream"

    def subscribe_messages(self, subscriptions: Sequence[Subscription], first_id: int) -> list[str]:
        names = [f"{s.market_id.lower()}@kline_{s.timeframe}" for s in subscriptions]
        return [
            orjson.dumps(
                {"method": "SUBSCRIBE", "params": names[start : start + self.subscribe_batch], "id": first_id + n}
            ).decode()
            for n, start in enumerate(range(0, len(names), self.subscribe_batch))
        ]

    def parse(self, message: str | bytes) -> list[BarClosed]:
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError as error:
            raise MalformedMessage(f"not JSON: {error}") from None
        if not isinstance(document, dict):
            raise MalformedMessage("expected a JSON object")
        payload = document.get("data", document)  # combined streams wrap the payload
        if not isinstance(payload, dict) or payload.get("e") != "kline":
            if "result" in document and "id" in document:
                return []  # a SUBSCRIBE acknowledgement
            if "error" in document or "code" in document:
                raise MalformedMessage(f"error from the exchange: {document}")
            raise MalformedMessage("not a kline event")
        kline = payload.get("k")
        if not isinstance(kline, dict):
            raise MalformedMessage("kline event without 'k'")
        if kline.get("x") is not True:
            return []  # the candle is still forming
        return [self._bar(kline)]

    def _bar(self, kline: dict[str, Any]) -> BarClosed:
        try:
            market_id, timeframe = str(kline["s"]), str(kline["i"])
            open_time_ms, close_time_ms = int(kline["t"]), int(kline["T"])
            open_, high, low, close = (Decimal(kline[key]) for key in ("o", "h", "l", "c"))
            volume, quote_volume, trades = Decimal(kline["v"]), Decimal(kline["q"]), int(kline["n"])
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise MalformedMessage(f"kline field missing or not a number: {error!r}") from None
        problem = bar_problem(
            timeframe, open_time_ms, close_time_ms, (open_, high, low, close), volume, quote_volume, trades
        )
        if problem is not None:
            raise MalformedMessage(f"kline {market_id} {open_time_ms}: {problem}")
        symbol = self._symbols.get(market_id) or unified_symbol(market_id)
        if symbol is None:
            raise MalformedMessage(f"kline for unknown market {market_id}")
        return BarClosed.trusted(
            exchange=self.exchange,
            symbol=symbol,
            timeframe=timeframe,
            open_time_ms=open_time_ms,
            close_time_ms=close_time_ms,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            quote_volume=quote_volume,
            trades=trades,
        )
