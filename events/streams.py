"""The one name for a bar series, wherever a bar goes: (exchange, symbol, timeframe), the unit of ordering, gap
detection, history and the streamer's cursors."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from events.models import BarClosed


class StreamKey(NamedTuple):
    """A tuple, hashed in C: built and looked up per bar."""

    exchange: str
    symbol: str
    timeframe: str

    @classmethod
    def of(cls, bar: BarClosed) -> StreamKey:
        # what the generated __new__ does, without its frame: this runs several times per bar
        return tuple.__new__(cls, (bar.exchange, bar.symbol, bar.timeframe))

    @classmethod
    def from_text(cls, text: str) -> StreamKey:
        """The key `as_text` wrote (`binance|BTC/USDT|1m`; a symbol never holds a `|`)."""
        exchange, symbol, timeframe = text.split("|", 2)
        return cls(exchange, symbol, timeframe)

    def as_text(self) -> str:
        return "|".join(self)
