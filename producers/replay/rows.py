"""Checks every recorded row before it becomes a BarClosed: a bad row is refused whole, with file:line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import repeat
from operator import add, le

from events.bar_checks import (
    CLOCK_SKEW_MS,
    EARLIEST_OPEN_MS,
    MAX_PRICE,
    MAX_TRADES,
    MAX_VOLUME,
    MIN_PRICE,
    ZERO,
    InvalidBar,
    bar_problem,
    now_ms,
    values_fit,
)
from events.models import BarClosed, TrustedBars, trusted_bar

MICROSECONDS = 100_000_000_000_000  # a timestamp this large is in µs (no ms timestamp reaches it before 5138)


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
    return value // 1000 if value >= MICROSECONDS else value


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


class RowBars:
    """Bars of one stream from the texts of its rows, as `checked_bar` makes them. A good row pays for its Decimals
    and a few comparisons (the clock read once); any other row goes to `checked_bar`, whose words and clock decide."""

    __slots__ = ("_bars", "_latest_open_ms", "_stream")

    def __init__(self, stream: StreamInfo) -> None:
        self._stream = stream
        self._bars = TrustedBars(stream.exchange, stream.symbol, stream.timeframe)
        self._latest_open_ms = self._clock_limit()

    def bar(
        self,
        open_time_ms: int,
        fields: tuple[str, str, str, str, str],
        quote_volume: str | None = None,
        trades: str | None = None,
    ) -> BarClosed:
        """The bar of a row; raise InvalidBarRow (without the origin) naming what is wrong."""
        stream = self._stream
        try:
            open_, high, low, close, volume = map(Decimal, fields)
            quote = Decimal(quote_volume) if quote_volume else None
            trade_count = int(trades) if trades else None
            fits = values_fit(open_, high, low, close, volume, quote, trade_count)
        except (InvalidOperation, ValueError):
            fits = False
        interval_ms = stream.interval_ms
        if fits and not open_time_ms % interval_ms and EARLIEST_OPEN_MS <= open_time_ms <= self._latest_open_ms:
            close_time_ms = open_time_ms + interval_ms - 1
            return self._bars.bar(open_time_ms, close_time_ms, open_, high, low, close, volume, quote, trade_count)
        self._latest_open_ms = self._clock_limit()
        return checked_bar(stream, open_time_ms, fields, quote_volume, trades)

    def run_bars(
        self,
        open_times_ms: list[int],
        fields: Sequence[Sequence[str]],
        quote_volumes: Sequence[str] | None = None,
        trades: Sequence[str] | None = None,
    ) -> list[BarClosed] | None:
        """The bars of a run of rows (one or more), given column by column (`fields`: opens, highs, lows, closes,
        volumes), when every row is good and each opens one interval after the one before; else None (read them row
        by row). The columns are converted and compared in C: no Python call per value."""
        try:
            opens, highs, lows, closes, volumes = (list(map(Decimal, column)) for column in fields)
            quotes = list(map(Decimal, quote_volumes)) if quote_volumes is not None else None
            counts = list(map(int, trades)) if trades is not None else None
        except (InvalidOperation, ValueError):
            return None
        return self.decimal_run_bars(open_times_ms, opens, highs, lows, closes, volumes, quotes, counts)

    def decimal_run_bars(  # noqa: PLR0917 (a run's own columns, in the order every reader has them)
        self,
        open_times_ms: list[int],
        opens: list[Decimal],
        highs: list[Decimal],
        lows: list[Decimal],
        closes: list[Decimal],
        volumes: list[Decimal],
        quotes: list[Decimal] | None = None,
        counts: list[int] | None = None,
    ) -> list[BarClosed] | None:
        """`run_bars` of columns already converted (a columnar file converts each distinct value once)."""
        if not self._steps_on(open_times_ms):
            return None
        try:
            if not _run_fits(opens, highs, lows, closes, volumes, quotes, counts):
                return None
        except InvalidOperation:  # a NaN compared
            return None
        interval_ms = self._stream.interval_ms
        close_times_ms = map(add, open_times_ms, repeat(interval_ms - 1))
        return list(
            map(
                self._bars.bar,
                open_times_ms,
                close_times_ms,
                opens,
                highs,
                lows,
                closes,
                volumes,
                quotes or repeat(None),
                counts or repeat(None),
            )
        )

    def _steps_on(self, open_times_ms: list[int]) -> bool:
        """Each open time one interval after the one before, on the interval's grid, and none in the future."""
        interval_ms = self._stream.interval_ms
        first_ms = open_times_ms[0]
        return (
            open_times_ms == list(range(first_ms, first_ms + len(open_times_ms) * interval_ms, interval_ms))
            and not first_ms % interval_ms
            and EARLIEST_OPEN_MS <= first_ms <= open_times_ms[-1] <= self._latest_open_ms
        )

    def _clock_limit(self) -> int:
        """The latest open time of a bar that is not in the future: the clock only moves on, so it stays true."""
        return now_ms() + CLOCK_SKEW_MS - self._stream.interval_ms + 1


def _run_fits(  # noqa: PLR0917 (a run's own columns, in the order every reader has them)
    opens: list[Decimal],
    highs: list[Decimal],
    lows: list[Decimal],
    closes: list[Decimal],
    volumes: list[Decimal],
    quotes: list[Decimal] | None,
    trades: list[int] | None,
) -> bool:
    """`values_fit` for every row of a run, column against column (a NaN raises InvalidOperation)."""
    return (
        min(lows) >= MIN_PRICE
        and max(highs) <= MAX_PRICE
        and all(map(le, lows, opens))
        and all(map(le, opens, highs))
        and all(map(le, lows, closes))
        and all(map(le, closes, highs))
        and min(volumes) >= ZERO
        and max(volumes) <= MAX_VOLUME
        and (quotes is None or ZERO <= min(quotes) <= max(quotes) <= MAX_VOLUME)
        and (trades is None or 0 <= min(trades) <= max(trades) <= MAX_TRADES)
    )


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False
