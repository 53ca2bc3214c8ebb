"""Exchange adapters by the name `stds run --exchange` takes."""

from __future__ import annotations

from collections.abc import Callable

from producers.exchanges.adapter import CandleStream
from producers.exchanges.binance import BinanceSpot
from producers.exchanges.okx import OkxSpot

ADAPTERS: dict[str, Callable[[], CandleStream]] = {"binance": BinanceSpot, "okx": OkxSpot}


def adapter_for(exchange: str) -> CandleStream:
    try:
        return ADAPTERS[exchange]()
    except KeyError:
        raise ValueError(f"no stream adapter for exchange {exchange!r} (have: {', '.join(ADAPTERS)})") from None
