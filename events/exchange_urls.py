"""Point an exchange client at another Binance-compatible server (the local exchange), keeping every path.

It lives here, beside the contract both sides share, because the streamer's backfill (producers) and the
ccxt broker (consumers) both point their clients the same way, and neither side may import the other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def point_at(exchange: Any, base: str) -> None:
    """Swap scheme and host of every REST endpoint in `exchange.urls["api"]` for `base`'s, keeping each path."""
    target = urlsplit(base.rstrip("/"))
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str) and url.startswith("http"):
            api[name] = urlunsplit(urlsplit(url)._replace(scheme=target.scheme, netloc=target.netloc))
