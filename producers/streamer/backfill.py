"""Closed bars the websocket missed, fetched over REST with ccxt's fetch_ohlcv (exact strings, no floats)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from events.bar_checks import bar_problem
from events.dead_letters import DeadLetters
from events.exchange_urls import point_at
from events.models import BarClosed
from events.timeframes import timeframe_ms

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # Binance's maximum rows per klines request


class RestBackfill:
    """Wraps one ccxt exchange; `rest_url` points it at any Binance-compatible server."""

    def __init__(self, exchange_id: str, rest_url: str | None = None, dead_letters: DeadLetters | None = None) -> None:
        exchange_class = getattr(ccxt_async, exchange_id)
        self.exchange: Any = exchange_class({"enableRateLimit": True, "options": {"fetchMarkets": ["spot"]}})
        self.exchange.number = str  # keep the exchange's decimal strings exact
        if rest_url:
            point_at(self.exchange, rest_url)
        self.exchange_id = exchange_id
        self.rest_url = rest_url or "the exchange's REST API"
        self.dead_letters = dead_letters

    async def closed_bars(self, symbol: str, timeframe: str, from_ms: int, to_ms: int) -> list[BarClosed]:
        """Bars opening in [from_ms, to_ms] that have closed by the server's clock, in order."""
        interval = timeframe_ms(timeframe)
        server_now = int(await self.exchange.fetch_time())
        bars: list[BarClosed] = []
        since = from_ms
        while since <= to_ms:
            rows = await self.exchange.fetch_ohlcv(symbol, timeframe, since=since, limit=PAGE_LIMIT)
            fresh = [row for row in rows if since <= int(row[0]) <= to_ms and int(row[0]) + interval <= server_now]
            bars.extend(bar for row in fresh if (bar := self._bar(symbol, timeframe, interval, row)) is not None)
            if len(rows) < PAGE_LIMIT or not fresh:
                break
            since = int(fresh[-1][0]) + interval
        return bars

    async def close(self) -> None:
        await self.exchange.close()

    def _bar(self, symbol: str, timeframe: str, interval: int, row: list[Any]) -> BarClosed | None:
        """The row as a bar, or None (dead-lettered) when it cannot be one: a REST answer is input too."""
        try:
            open_time = int(row[0])
            prices = (Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), Decimal(row[4]))
            volume = Decimal(row[5])
            problem = bar_problem(timeframe, open_time, open_time + interval - 1, prices, volume)
        except (IndexError, TypeError, ValueError, ArithmeticError) as error:
            problem = f"OHLCV row malformed: {error!r}"
        if problem is not None:
            log.warning("backfill row refused", extra={"symbol": symbol, "row": repr(row)[:200], "error": problem})
            if self.dead_letters is not None:
                self.dead_letters.put(f"{self.exchange_id} REST klines {symbol} ({self.rest_url})", problem, repr(row))
            return None
        return BarClosed.trusted(
            exchange=self.exchange_id,
            symbol=symbol,
            timeframe=timeframe,
            open_time_ms=open_time,
            close_time_ms=open_time + interval - 1,
            open=prices[0],
            high=prices[1],
            low=prices[2],
            close=prices[3],
            volume=volume,
            backfilled=True,
        )
