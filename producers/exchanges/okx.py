"""OKX v5 candles (`candle1m` on the business websocket): the second exchange, proving the adapter port."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import orjson

from events.bar_checks import bar_problem
from events.models import BarClosed
from events.timeframes import timeframe_ms
from producers.exchanges.adapter import MalformedMessage, Subscription

_CHANNEL_PREFIX = "candle"


class OkxSpot:
    """OKX closes idle connections after 30 s without traffic, so the streamer sends 'ping' when quiet."""

    exchange: str = "okx"
    default_ws_url: str = "wss://ws.okx.com:8443"
    max_streams_per_connection: int = 300
    subscribe_batch: int = 50
    subscribe_messages_per_second: float = 2.0
    keepalive_message: str | None = "ping"

    def subscription(self, symbol: str, timeframe: str) -> Subscription:
        return Subscription(symbol, symbol.replace("/", "-").upper(), timeframe)

    def connection_url(self, ws_base: str) -> str:
        return f"{ws_base.rstrip('/')}/ws/v5/business"

    def subscribe_messages(self, subscriptions: Sequence[Subscription], first_id: int) -> list[str]:
        args = [{"channel": f"{_CHANNEL_PREFIX}{s.timeframe}", "instId": s.market_id} for s in subscriptions]
        return [
            orjson.dumps({"op": "subscribe", "args": args[start : start + self.subscribe_batch]}).decode()
            for start in range(0, len(args), self.subscribe_batch)
        ]

    def parse(self, message: str | bytes) -> list[BarClosed]:
        if message in ("pong", b"pong"):
            return []
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError as error:
            raise MalformedMessage(f"not JSON: {error}") from None
        if not isinstance(document, dict):
            raise MalformedMessage("expected a JSON object")
        if "event" in document:
            if document["event"] == "error":
                raise MalformedMessage(f"error from the exchange: {document}")
            return []  # subscribe acknowledgements
        argument, rows = document.get("arg"), document.get("data")
        if not isinstance(argument, dict) or not isinstance(rows, list):
            raise MalformedMessage("expected 'arg' and 'data'")
        channel, market_id = str(argument.get("channel", "")), str(argument.get("instId", ""))
        if not channel.startswith(_CHANNEL_PREFIX) or not market_id:
            raise MalformedMessage(f"not a candle channel: {channel!r}")
        timeframe = channel.removeprefix(_CHANNEL_PREFIX)
        return [self._bar(market_id, timeframe, row) for row in rows if isinstance(row, list) and row[-1:] == ["1"]]

    def _bar(self, market_id: str, timeframe: str, row: list[str]) -> BarClosed:
        try:
            open_time_ms = int(row[0])
            open_, high, low, close, volume, quote_volume = (Decimal(value) for value in row[1:7])
            interval_ms = timeframe_ms(timeframe)
        except (IndexError, ValueError, InvalidOperation) as error:
            raise MalformedMessage(f"candle row malformed: {error!r}") from None
        close_time_ms = open_time_ms + interval_ms - 1
        problem = bar_problem(timeframe, open_time_ms, close_time_ms, (open_, high, low, close), volume, quote_volume)
        if problem is not None:
            raise MalformedMessage(f"candle {market_id} {open_time_ms}: {problem}")
        return BarClosed.trusted(
            exchange=self.exchange,
            symbol=market_id.replace("-", "/"),
            timeframe=timeframe,
            open_time_ms=open_time_ms,
            close_time_ms=close_time_ms,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            quote_volume=quote_volume,
        )
