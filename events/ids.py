"""Deterministic event ids: derived from the fact's natural key, so every duplicate carries the same id."""

from __future__ import annotations

import hashlib


def bar_event_id(exchange: str, symbol: str, timeframe: str, open_time_ms: int) -> str:
    return f"bar:{exchange}:{symbol}:{timeframe}:{open_time_ms}"


def bars_event_id(exchange: str, timeframe: str, open_time_ms: int, symbols: list[str]) -> str:
    """A batch is the fact "these symbols closed at that time": the same rows give the same id, in any order."""
    rows = hashlib.blake2b("|".join(sorted(symbols)).encode(), digest_size=8).hexdigest()
    return f"bars:{exchange}:{timeframe}:{open_time_ms}:{rows}"


# Binance's clientOrderId rule, which every order id must fit (it is sent as one); a DynamoDB key cannot be empty
ORDER_ID_PATTERN = r"^[.A-Z:/a-z0-9_-]{1,36}$"


def order_event_id(strategy: str, exchange: str, symbol: str, bar_open_time_ms: int) -> str:
    """Fits ORDER_ID_PATTERN whatever the strategy name is."""
    key = f"{strategy}|{exchange}|{symbol}|{bar_open_time_ms}".encode()
    return "stds-" + hashlib.blake2b(key, digest_size=15).hexdigest()
