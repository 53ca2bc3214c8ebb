"""Candle lengths by their ccxt/Binance names, and what follows from a length alone."""

from __future__ import annotations

TIMEFRAME_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(f"unknown timeframe {timeframe!r} (known: {', '.join(TIMEFRAME_MS)})") from None


# what a strategy can run on: the minute and every length the aggregator builds from it (events.aggregation)
BAR_TIMEFRAMES = tuple(name for name, length_ms in TIMEFRAME_MS.items() if length_ms >= TIMEFRAME_MS["1m"])
MS_PER_YEAR = 365 * 24 * 3600 * 1000  # crypto trades every day of the year


def periods_per_year(timeframe: str) -> float:
    """How many bars of this length a year holds: what annualises a per-bar figure (Sharpe's sqrt of it)."""
    return MS_PER_YEAR / timeframe_ms(timeframe)
