"""Bollinger mean reversion: buy a close below the lower band, sell it back at the middle band."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import Field

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window

ZERO = Decimal(0)


class BollingerParams(StrategyParams):
    period: int = Field(default=20, ge=2, description="bars in the moving average and deviation")
    k: float = Field(default=2.0, gt=0, description="band width in population standard deviations")
    mode: Literal["long_flat", "long_short"] = "long_flat"


class BollingerReversion(Strategy):
    """Long when the close is below the lower band, flat again once it is back at or above the middle
    band; long_short also shorts above the upper band and covers at or below the middle. Otherwise the
    target is kept."""

    name = "bollinger_reversion"
    Params = BollingerParams
    params: BollingerParams

    @property
    def lookback(self) -> int:
        return self.params.period

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        params = self.params
        closes = window.closes
        middle = sum(closes) / params.period
        deviation = math.sqrt(sum([(close - middle) ** 2 for close in closes]) / params.period)
        close = closes[-1]
        if close < middle - params.k * deviation:
            return params.qty
        if params.mode == "long_short" and close > middle + params.k * deviation:
            return -params.qty
        if (current_target > 0 and close >= middle) or (current_target < 0 and close <= middle):
            return ZERO
        return current_target
