"""The recorded bars an exchange plays back, and the accelerated market clock that decides which are closed."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from events.models import BarClosed


@dataclass
class Tape:
    """Bars per Binance market id (BTCUSDT), in open-time order."""

    bars: dict[str, list[BarClosed]]
    open_times: dict[str, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.open_times = {market: [bar.open_time_ms for bar in series] for market, series in self.bars.items()}

    @classmethod
    def of(cls, bars: Iterable[BarClosed]) -> Tape:
        by_market: dict[str, list[BarClosed]] = {}
        for bar in bars:
            by_market.setdefault(bar.symbol.replace("/", ""), []).append(bar)
        return cls(by_market)

    @property
    def first_open_ms(self) -> int:
        return min(series[0].open_time_ms for series in self.bars.values())

    @property
    def last_close_ms(self) -> int:
        return max(series[-1].close_time_ms for series in self.bars.values())

    def count(self, symbols: Iterable[str]) -> int:
        return sum(len(self.bars.get(symbol.replace("/", ""), [])) for symbol in symbols)

    def between(self, market: str, start_ms: int, end_ms: int, limit: int) -> list[BarClosed]:
        """Bars of `market` opening in [start_ms, end_ms], at most `limit`."""
        times = self.open_times.get(market, [])
        first = bisect.bisect_left(times, start_ms)
        last = bisect.bisect_right(times, end_ms)
        return self.bars[market][first : min(last, first + limit)]


class MarketClock:
    """Market time runs `speed` times faster than wall time, from `start_ms`."""

    def __init__(self, start_ms: int, speed: float) -> None:
        self.start_ms = start_ms
        self.speed = speed
        self._started = time.monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((time.monotonic() - self._started) * 1000 * self.speed)


class FixedClock(MarketClock):
    """The market's time held where a test puts it (`now`), so which candle is forming never depends on timing."""

    def __init__(self, now: int) -> None:
        super().__init__(now, 0.0)
        self.now = now

    def now_ms(self) -> int:
        return self.now
