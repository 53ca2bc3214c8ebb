"""An example of informative bars: an SMA cross on its own bars (say 5m), long only while the hourly trend is up.

Its line declares the hourly bars it reads (`informative = ["1h"]`); `window.informative("1h")` gives the last
`lookback` 1h bars that closed by the close of the bar being decided, or None while they are warming up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import model_validator

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window


class TrendFilteredSmaParams(StrategyParams):
    fast: int = 10
    slow: int = 30
    trend: int = 24  # hourly bars in the trend's SMA
    trend_timeframe: str = "1h"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


class TrendFilteredSma(Strategy):
    name = "trend_filtered_sma"
    Params = TrendFilteredSmaParams
    params: TrendFilteredSmaParams

    @property
    def lookback(self) -> int:
        return max(self.params.slow, self.params.trend)  # also the length of each informative window

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        params = self.params
        trend = window.informative(params.trend_timeframe)
        if trend is None:
            return Decimal(0)  # no whole trend window yet: stay out
        trend_up = trend.last.close > trend.sma(params.trend)
        return params.qty if trend_up and window.sma(params.fast) > window.sma(params.slow) else Decimal(0)
