"""The candle-stream port every exchange adapter implements; the streamer knows nothing else of an exchange."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from events.models import BarClosed


class MalformedMessage(ValueError):
    """A websocket message that is not what the protocol promises; logged with the stream and dropped."""


@dataclass(frozen=True, slots=True)
class Subscription:
    symbol: str  # ccxt unified, e.g. BTC/USDT
    market_id: str  # the exchange's own id, e.g. BTCUSDT (Binance) or BTC-USDT (OKX)
    timeframe: str


class CandleStream(Protocol):
    exchange: str  # ccxt id of the exchange, also BarClosed.exchange
    default_ws_url: str
    max_streams_per_connection: int
    subscribe_batch: int  # streams per subscribe message
    subscribe_messages_per_second: float  # the exchange's limit on messages sent to it
    keepalive_message: str | None  # sent when the line is quiet (for exchanges that want app-level pings)

    def subscription(self, symbol: str, timeframe: str) -> Subscription: ...

    def connection_url(self, ws_base: str) -> str: ...

    def subscribe_messages(self, subscriptions: Sequence[Subscription], first_id: int) -> list[str]: ...

    def parse(self, message: str | bytes) -> list[BarClosed]:
        """The closed candles in one message ([] for updates of a forming candle, acks, pongs);
        raise MalformedMessage for anything the protocol does not allow."""
        ...
