"""Checks every recorded row before it becomes a BarClosed: a bad row is refused whole, with file:line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from events.bar_checks import InvalidBar, bar_problem
from events.models import BarClosed, trusted_bar


class InvalidBarRow(InvalidBar):
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
    try:
        value = int(timestamp)
    except ValueError:
        raise InvalidBarRow(f"timestamp {timestamp[:40]!r} is not a whole number of ms (or µs)") from None
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
        open_, high, low, close, volume = map(Decimal, fields)
        quote = Decimal(quote_volume) if quote_volume else None
        trade_count = int(trades) if trades else None
    except (InvalidOperation, ValueError):
        names = ("open", "high", "low", "close", "volume")
        bad = next((f"{name} {text!r}" for name, text in zip(names, fields, strict=True) if not _is_number(text)), None)
        raise InvalidBarRow(f"not a number: {bad or f'quote volume {quote_volume!r} or trades {trades!r}'}") from None
    close_time_ms = open_time_ms + stream.interval_ms - 1
    problem = bar_problem(
        stream.timeframe, open_time_ms, close_time_ms, (open_, high, low, close), volume, quote, trade_count
    )
    if problem is not None:
        raise InvalidBarRow(problem)
    exchange, symbol, timeframe = stream.exchange, stream.symbol, stream.timeframe
    return trusted_bar(
        exchange, symbol, timeframe, open_time_ms, close_time_ms, open_, high, low, close, volume, quote, trade_count
    )


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False
