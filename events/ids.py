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
    return _order_id(f"{strategy}|{exchange}|{symbol}|{bar_open_time_ms}")


def flatten_order_id(engagement: str, strategy: str, exchange: str, symbol: str) -> str:
    """The closing order of one sub-account in one flatten (`engagement` names the kill switch's engagement)."""
    return _order_id(f"flatten|{engagement}|{strategy}|{exchange}|{symbol}")


def _order_id(key: str) -> str:
    return "stds-" + hashlib.blake2b(key.encode(), digest_size=15).hexdigest()
