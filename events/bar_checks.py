"""What can be a bar: the one set of checks every door applies (CSV, JSON Lines, websocket, REST, Lambda).

The model (`BarClosed`) refuses a bar that breaks them whenever it is validated; producers that build
bars on the trusted hot path call `bar_problem` themselves. The clock check ("not in the future") is
here too, because one bar dated in 2100 would otherwise move a stream's cursor past every real bar.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation

from events.timeframes import TIMEFRAME_MS

ZERO = Decimal(0)
# Wide enough for any traded market (SHIB in BTC is ~1e-10; BTC in IDR ~1e9), narrow enough that
# qty × price × fee can never overflow Decimal's context or reach float infinity in an indicator.
MIN_PRICE = Decimal("1e-12")
MAX_PRICE = Decimal("1e12")
MAX_VOLUME = Decimal("1e18")
MAX_TRADES = 10**12
EARLIEST_OPEN_MS = 1_230_768_000_000  # 2009-01-01: no crypto market traded before
CLOCK_SKEW_MS = 120_000  # how far a bar's close may be ahead of this machine's clock


class InvalidBar(ValueError):
    """Values that can never be a closed bar, e.g. `high 1.0 < low 2.0` or `closes in the future`."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def bar_problem(  # noqa: PLR0917 (the row's own columns, in the order every reader has them)
    timeframe: str,
    open_time_ms: int,
    close_time_ms: int,
    prices: tuple[Decimal, Decimal, Decimal, Decimal],
    volume: Decimal,
    quote_volume: Decimal | None = None,
    trades: int | None = None,
    *,
    clock_ms: int | None = None,
) -> str | None:
    """Why these values are not a closed bar, or None. `prices` is (open, high, low, close); `clock_ms`
    is now (default: this machine's clock). Every bar read passes here: the usual case is a few
    comparisons, and only a refused bar pays for finding the words."""
    try:
        values_ok = values_fit(*prices, volume, quote_volume, trades)
    except InvalidOperation:  # a NaN cannot be compared
        values_ok = False
    if not values_ok:
        return _value_problem(prices, volume, quote_volume, trades)
    interval_ms = TIMEFRAME_MS.get(timeframe)
    if interval_ms is None:
        return f"unknown timeframe {timeframe!r} (known: {', '.join(TIMEFRAME_MS)})"
    if open_time_ms < EARLIEST_OPEN_MS:
        return f"open time {open_time_ms} is before 2009: not a market bar (a timestamp in seconds?)"
    if open_time_ms % interval_ms:
        return f"open time {open_time_ms} is not aligned to the {timeframe} interval"
    if close_time_ms != open_time_ms + interval_ms - 1:
        return f"close time {close_time_ms} does not end the {timeframe} bar opened at {open_time_ms}"
    now = now_ms() if clock_ms is None else clock_ms
    if close_time_ms > now + CLOCK_SKEW_MS:
        return f"bar opened at {open_time_ms} closes in the future (clock {now}): refused"
    return None


def values_fit(  # noqa: PLR0917 (a row's own columns, in the order every reader has them)
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    quote_volume: Decimal | None = None,
    trades: int | None = None,
) -> bool:
    """Whether these can be a bar's prices and amounts: a few comparisons (a NaN raises InvalidOperation)."""
    return (
        MIN_PRICE <= low <= open_ <= high <= MAX_PRICE
        and low <= close <= high
        and ZERO <= volume <= MAX_VOLUME
        and (quote_volume is None or ZERO <= quote_volume <= MAX_VOLUME)
        and (trades is None or 0 <= trades <= MAX_TRADES)
    )


def _value_problem(
    prices: tuple[Decimal, Decimal, Decimal, Decimal],
    volume: Decimal,
    quote_volume: Decimal | None,
    trades: int | None,
) -> str:
    open_, high, low, close = prices
    for name, price in zip(("open", "high", "low", "close"), prices, strict=True):
        if not price.is_finite() or not MIN_PRICE <= price <= MAX_PRICE:
            what = "is not positive" if not price.is_nan() and price <= ZERO else "is not a price"
            return f"{name} {price} {what} (a finite number from {MIN_PRICE} to {MAX_PRICE})"
    if high < low:
        return f"high {high} < low {low}"
    if high < open_ or high < close:
        return f"high {high} is below open {open_} or close {close}"
    if low > open_ or low > close:
        return f"low {low} is above open {open_} or close {close}"
    for name, amount in (("volume", volume), ("quote volume", quote_volume)):
        if amount is not None and (not amount.is_finite() or not ZERO <= amount <= MAX_VOLUME):
            what = "is negative" if not amount.is_nan() and amount < ZERO else "is not a volume"
            return f"{name} {amount} {what} (a finite number from 0 to {MAX_VOLUME})"
    return f"trade count {trades} is negative or impossible"
