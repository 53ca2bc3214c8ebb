"""Informative bars: further streams a strategy reads (its own symbol at another timeframe, or another symbol) but
never decides on, and the one rule for which of their bars a decision may see.

The rule (no look-ahead): deciding the bar that closes at C, a stream of the decided symbol shows the bars that
close at or before C (the 1h bar closing at 11:00 is seen by the 5m bar closing at 11:00: the runtime stores every
bar a closing minute makes before it delivers any of them); another symbol's stream shows the bars that closed
before the decided bar opened, the ones that have surely arrived live too (another symbol's bar of the same instant
may still be on its way). A forming bar is never in a store, and a bar closing later ends after the last one shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from events.models import BarClosed
from events.streams import StreamKey
from events.timeframes import BAR_TIMEFRAMES, timeframe_ms

if TYPE_CHECKING:
    from consumers.stores.ports import BarStore
    from consumers.strategies.window import Window


class InformativeNotDeclared(LookupError):
    """A strategy read an informative stream its strategies-file line does not declare."""


@dataclass(frozen=True, slots=True)
class InformativeStream:
    """`1h` (each decided symbol at 1h) or `BTC/USDT@1d` (that symbol at 1d), as a strategies-file line says."""

    timeframe: str
    symbol: str | None = None  # None: the decided bar's own symbol

    @classmethod
    def parse(cls, text: str) -> InformativeStream:
        symbol, at, timeframe = text.rpartition("@")
        if at and not symbol:
            raise ValueError(f"{text!r}: no symbol before '@' (write 'BTC/USDT@1d', or just '1d' for its own)")
        if timeframe not in BAR_TIMEFRAMES:
            raise ValueError(
                f"{text!r}: unknown timeframe {timeframe!r} (one of {', '.join(BAR_TIMEFRAMES)}), "
                "written '1h' for the line's own symbols or 'BTC/USDT@1h' for another"
            )
        return cls(timeframe, symbol or None)

    def __str__(self) -> str:
        return self.timeframe if self.symbol is None else f"{self.symbol}@{self.timeframe}"

    def selects(self, bar: BarClosed, own_symbols: frozenset[str] | None) -> bool:
        """Whether `bar` belongs to this stream for a line trading `own_symbols` (None: every symbol)."""
        if bar.timeframe != self.timeframe:
            return False
        if self.symbol is not None:
            return bar.symbol == self.symbol
        return own_symbols is None or bar.symbol in own_symbols


def last_visible_open_ms(decided: BarClosed, symbol: str, timeframe: str) -> int:
    """Open time of the newest bar of `symbol` at `timeframe` that a decision on `decided` may see (the rule above):
    the last period ending at or before the cut-off, periods aligned on the epoch as the exchange aligns them."""
    cutoff_end_ms = decided.open_time_ms + decided.interval_ms if symbol == decided.symbol else decided.open_time_ms
    interval_ms = timeframe_ms(timeframe)
    return cutoff_end_ms - cutoff_end_ms % interval_ms - interval_ms


@dataclass(frozen=True, slots=True)
class InformativeBars:
    """What `window.informative(...)` reads for one decision: the declared streams' windows as of the decided bar."""

    bars: BarStore
    decided: BarClosed
    declared: tuple[InformativeStream, ...]
    length: int  # bars per informative window: the strategy's lookback

    def window(self, timeframe: str, symbol: str | None = None) -> Window | None:
        """The `length` bars of that stream ending at the newest one visible, or None while any is missing
        (warming up, or a gap the exchange has)."""
        own = symbol is None or symbol == self.decided.symbol
        if not any(
            stream.timeframe == timeframe and stream.symbol in ((None, self.decided.symbol) if own else (symbol,))
            for stream in self.declared
        ):
            declared = ", ".join(map(str, self.declared)) or "none"
            asked = timeframe if symbol is None else f"{symbol}@{timeframe}"
            raise InformativeNotDeclared(
                f"informative {asked!r} is not declared by this strategy's line (declared: {declared}); "
                f'add it: informative = ["{asked}"]'
            )
        read_symbol = symbol or self.decided.symbol
        stream = StreamKey(self.decided.exchange, read_symbol, timeframe)
        return self.bars.window(stream, last_visible_open_ms(self.decided, read_symbol, timeframe), self.length)
