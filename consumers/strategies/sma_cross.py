"""SMA cross: long (or short) while the fast simple moving average of closes is above (below) the slow one."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window

ZERO = Decimal(0)


class SmaCrossParams(StrategyParams):
    fast: int = Field(default=10, ge=1, description="bars in the fast SMA")
    slow: int = Field(default=30, ge=2, description="bars in the slow SMA")
    mode: Literal["long_flat", "long_short"] = "long_flat"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SmaCross(Strategy):
    """Target +qty when SMA(fast) > SMA(slow), else 0 (long_flat); long_short targets −qty when
    SMA(fast) < SMA(slow) and keeps the current target when they are equal."""

    name = "sma_cross"
    Params = SmaCrossParams
    params: SmaCrossParams

    @property
    def lookback(self) -> int:
        return self.params.slow

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        params = self.params
        fast_sma, slow_sma = window.sma(params.fast), window.sma(params.slow)
        if fast_sma > slow_sma:
            return params.qty
        if params.mode == "long_flat":
            return ZERO
        return -params.qty if fast_sma < slow_sma else current_target
