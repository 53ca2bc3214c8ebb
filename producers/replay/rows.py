"""Checks every recorded row before it becomes a BarClosed: a bad row is refused whole, with file:line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from events.models import BarClosed

_ZERO = Decimal(0)


class InvalidBarRow(ValueError):
    """A recorded row that cannot be a bar, e.g. `BTCUSDT-1m-2023-01-21.csv:17: high 1.0 < low 2.0`."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a file's rows are bars of, taken from its path (or the command line)."""

    exchange: str
    symbol: str
    timeframe: str
    interval_ms: int


def to_ms(timestamp: str) -> int:
    """Binance spot files from 2025 on use µs; everything else ms. No ms timestamp reaches 10^14 before 5138."""
    value = int(timestamp)
    return value // 1000 if value >= 100_000_000_000_000 else value


def checked_bar(
    stream: StreamInfo,
    open_time_ms: int,
    fields: tuple[str, str, str, str, str],
    quote_volume: str | None = None,
    trades: str | None = None,
) -> BarClosed:
    """Build a bar from the row's text; raise InvalidBarRow (without the origin) naming what is wrong."""
    try:
        open_, high, low, close, volume = (Decimal(text) for text in fields)
        quote = Decimal(quote_volume) if quote_volume else None
        trade_count = int(trades) if trades else None
    except (InvalidOperation, ValueError):
        names = ("open", "high", "low", "close", "volume")
        bad = next((f"{name} {text!r}" for name, text in zip(names, fields, strict=True) if not _is_number(text)), None)
        raise InvalidBarRow(f"not a number: {bad or f'quote volume {quote_volume!r} or trades {trades!r}'}") from None
    if not (open_.is_finite() and high.is_finite() and low.is_finite() and close.is_finite() and volume.is_finite()):
        raise InvalidBarRow("prices and volume must be finite numbers")
    if low <= _ZERO:
        raise InvalidBarRow(f"low {low} is not positive")
    if high < low:
        raise InvalidBarRow(f"high {high} < low {low}")
    if high < open_ or high < close:
        raise InvalidBarRow(f"high {high} is below open {open_} or close {close}")
    if low > open_ or low > close:
        raise InvalidBarRow(f"low {low} is above open {open_} or close {close}")
    if volume < _ZERO:
        raise InvalidBarRow(f"volume {volume} is negative")
    if open_time_ms % stream.interval_ms:
        raise InvalidBarRow(f"open time {open_time_ms} is not aligned to the {stream.timeframe} interval")
    return BarClosed.trusted(
        exchange=stream.exchange,
        symbol=stream.symbol,
        timeframe=stream.timeframe,
        open_time_ms=open_time_ms,
        close_time_ms=open_time_ms + stream.interval_ms - 1,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=quote,
        trades=trade_count,
    )


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False
