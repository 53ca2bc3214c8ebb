"""Donchian breakout: follow a close that breaks out of the channel of the previous bars' highs and lows."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window

ZERO = Decimal(0)


class DonchianParams(StrategyParams):
    entry: int = Field(default=20, ge=2, description="bars in the breakout channel")
    exit: int = Field(default=10, ge=1, description="bars in the (shorter) exit channel")
    mode: Literal["long_flat", "long_short"] = "long_flat"

    @model_validator(mode="after")
    def _exit_shorter(self) -> Self:
        if self.exit >= self.entry:
            raise ValueError(f"exit ({self.exit}) must be shorter than entry ({self.entry})")
        return self


class DonchianBreakout(Strategy):
    """Long when the close rises above the highest high of the previous `entry` bars; flat when it falls
    below the lowest low of the previous `exit` bars. long_short mirrors it: short below the `entry`-bar
    low, cover above the `exit`-bar high. Otherwise the target is kept."""

    name = "donchian_breakout"
    Params = DonchianParams
    params: DonchianParams

    @property
    def lookback(self) -> int:
        return self.params.entry + 1  # the channel excludes the bar being decided on

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        params = self.params
        close = window.last.close
        if close > window.highest(params.entry, ago=1):
            return params.qty
        if params.mode == "long_short" and close < window.lowest(params.entry, ago=1):
            return -params.qty
        if current_target > 0 and close < window.lowest(params.exit, ago=1):
            return ZERO
        if current_target < 0 and close > window.highest(params.exit, ago=1):
            return ZERO
        return current_target
