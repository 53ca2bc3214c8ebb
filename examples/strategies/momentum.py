"""An example user strategy: long while the close is above the close `period` bars ago.

Copy this file, change `target`, add one line to your strategies file, and run `stds replay`.
"""

from __future__ import annotations

from decimal import Decimal

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window


class MomentumParams(StrategyParams):
    period: int = 60


class Momentum(Strategy):
    name = "momentum"
    Params = MomentumParams
    params: MomentumParams

    @property
    def lookback(self) -> int:
        return self.params.period + 1

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        closes = window.closes
        return self.params.qty if closes[-1] > closes[0] else Decimal(0)
