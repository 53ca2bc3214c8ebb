"""Binance klines over REST through ccxt, in pages of 1000, within the exchange's request-weight budget.

The weight used in the current minute comes back on every answer (`X-MBX-USED-WEIGHT-1M`); near the limit the
client waits for the next minute. A 429 is waited out for its `Retry-After`; a 418 is a ban and stops the run
with the time it ends. 5xx answers and dropped connections are tried again, a few times, ever more slowly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt

from events.exchange_urls import point_at

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # Binance's most rows per klines request
WEIGHT_LIMIT_1M = 6000  # Binance spot's REQUEST_WEIGHT per minute and IP, unless exchangeInfo's rateLimits says
SLOW_DOWN_AT = 0.8  # of the limit: from there on, wait for the next minute before asking again
ATTEMPTS = 6
MAX_RATE_LIMITED = 10  # 429s in a row before giving up
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
_STATUS = re.compile(r"\b(418|429)\b")


class ExchangeBanned(RuntimeError):
    """HTTP 418: the exchange bans this IP for a while; nothing more may be asked until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"the exchange has banned this IP until {until:%Y-%m-%d %H:%M:%S} UTC (HTTP 418, too many requests); "
            "run the same command again after that: what is downloaded is kept"
        )
        self.until = until


class ExchangeUnreachable(RuntimeError):
    """The exchange did not answer after every attempt."""


class UnknownMarket(ValueError):
    """A symbol the exchange does not list."""


class KlinesRest:
    """One ccxt exchange (Binance spot); `rest_url` points it at any Binance-compatible server."""

    def __init__(
        self,
        rest_url: str | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exchange: Any = ccxt.binance(
            {"enableRateLimit": False, "enableLastJsonResponse": True, "options": {"fetchMarkets": ["spot"]}}
        )
        if rest_url:
            point_at(self.exchange, rest_url)
        self.where = rest_url or "api.binance.com"
        self._sleep = sleep or time.sleep  # looked up now, so a test can stub time.sleep
        self._clock = clock
        self.requests = 0
        self.weight_limit_1m = WEIGHT_LIMIT_1M
        self.waited_s = 0.0  # time spent waiting for the weight budget or a Retry-After

    def markets(self) -> dict[str, str]:
        """Unified symbol → exchange market id (BTC/USDT → BTCUSDT) of every spot market, from exchangeInfo."""
        loaded = self._call(self.exchange.load_markets)
        self.weight_limit_1m = _weight_limit_1m(self.exchange.last_json_response) or WEIGHT_LIMIT_1M
        return {symbol: market["id"] for symbol, market in loaded.items() if market.get("spot")}

    def server_time_ms(self) -> int:
        return int(self._call(self.exchange.fetch_time))

    def page(self, market_id: str, timeframe: str, start_ms: int, end_ms: int) -> list[list[Any]]:
        """Up to PAGE_LIMIT raw kline rows (Binance's 12 columns) opening in [start_ms, end_ms)."""
        params = {
            "symbol": market_id,
            "interval": timeframe,
            "startTime": start_ms,
            "endTime": end_ms - 1,
            "limit": PAGE_LIMIT,
        }
        rows: list[list[Any]] = self._call(lambda: self.exchange.publicGetKlines(params))
        return rows

    def _call(self, request: Callable[[], Any]) -> Any:
        failures = rate_limited = 0
        while True:
            self.requests += 1
            try:
                answer = request()
            except ccxt.DDoSProtection as error:  # ccxt's class for both 429 and 418
                status = _STATUS.search(str(error))
                retry_after_s = self._retry_after_s()
                if status is not None and status[1] == "418":
                    until = datetime.fromtimestamp(self._clock(), UTC) + timedelta(seconds=retry_after_s or 120)
                    raise ExchangeBanned(until) from None
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    raise ExchangeUnreachable(f"{self.where} kept answering 429 (too many requests)") from None
                self._wait(retry_after_s or 60.0, "429 Too Many Requests")
                continue
            except ccxt.BadSymbol as error:
                raise UnknownMarket(str(error)) from None
            except ccxt.NetworkError as error:  # 5xx, a dropped connection, a timeout
                failures += 1
                if failures >= ATTEMPTS:
                    raise ExchangeUnreachable(
                        f"cannot reach the exchange at {self.where} ({type(error).__name__}: {str(error)[:200]}); "
                        "check the network (or --rest-url) and run again"
                    ) from None
                self._wait(min(2.0**failures, 30.0), f"{type(error).__name__}, attempt {failures} of {ATTEMPTS}")
                continue
            self._respect_weight()
            return answer

    def _retry_after_s(self) -> float | None:
        value = (self.exchange.last_response_headers or {}).get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _respect_weight(self) -> None:
        """Near the minute's weight limit, wait for the next minute (the budget starts over then)."""
        used = (self.exchange.last_response_headers or {}).get(WEIGHT_HEADER)
        if used is None or not used.isdigit() or int(used) < SLOW_DOWN_AT * self.weight_limit_1m:
            return
        self._wait(60.0 - self._clock() % 60.0 + 1.0, f"weight {used} of {self.weight_limit_1m} used this minute")

    def _wait(self, seconds: float, why: str) -> None:
        log.warning("waiting %.0f s: %s", seconds, why)
        self.waited_s += seconds
        self._sleep(seconds)


def _weight_limit_1m(exchange_info: Any) -> int | None:
    """The REQUEST_WEIGHT limit per minute in exchangeInfo's rateLimits, if it states one."""
    limits = exchange_info.get("rateLimits") if isinstance(exchange_info, dict) else None
    for limit in limits or []:
        if (limit.get("rateLimitType"), limit.get("interval"), limit.get("intervalNum")) == (
            "REQUEST_WEIGHT",
            "MINUTE",
            1,
        ):
            return int(limit["limit"])
    return None
