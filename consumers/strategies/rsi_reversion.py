"""RSI mean reversion: buy when Wilder's RSI says oversold, sell back once it recovers."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import Field

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window

ZERO = Decimal(0)


class RsiParams(StrategyParams):
    period: int = Field(default=14, ge=2)
    oversold: float = Field(default=30, gt=0, lt=100)
    overbought: float = Field(default=70, gt=0, lt=100)
    exit: float = Field(default=50, gt=0, lt=100, description="RSI level at which a position is closed")
    mode: Literal["long_flat", "long_short"] = "long_flat"


def wilder_rsi(closes: Sequence[float], period: int) -> float:
    """RSI with Wilder's smoothing, seeded by the simple average of the first `period` changes."""
    gains = losses = 0.0
    for index in range(1, period + 1):
        change = closes[index] - closes[index - 1]
        if change > 0.0:
            gains += change
        else:
            losses -= change
    average_gain, average_loss = gains / period, losses / period
    kept = period - 1
    for index in range(period + 1, len(closes)):
        change = closes[index] - closes[index - 1]
        gain, loss = (change, 0.0) if change > 0.0 else (0.0, -change)
        average_gain = (average_gain * kept + gain) / period
        average_loss = (average_loss * kept + loss) / period
    if average_loss == 0:
        return 100.0 if average_gain > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


class RsiReversion(Strategy):
    """Long when RSI < oversold, flat when RSI > exit; long_short also shorts when RSI > overbought and
    covers when RSI < exit. The RSI is computed over the window alone (3×period+1 bars), so the answer
    depends only on the window."""

    name = "rsi_reversion"
    Params = RsiParams
    params: RsiParams

    @property
    def lookback(self) -> int:
        return 3 * self.params.period + 1

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        params = self.params
        rsi = wilder_rsi(window.closes, params.period)
        if rsi < params.oversold:
            return params.qty
        if params.mode == "long_short" and rsi > params.overbought:
            return -params.qty
        if (current_target > 0 and rsi > params.exit) or (current_target < 0 and rsi < params.exit):
            return ZERO
        return current_target
