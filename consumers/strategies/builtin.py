"""The strategies that ship with stds, by the name a configuration line uses."""

from __future__ import annotations

from consumers.strategies.base import Strategy
from consumers.strategies.bollinger_reversion import BollingerReversion
from consumers.strategies.donchian_breakout import DonchianBreakout
from consumers.strategies.rsi_reversion import RsiReversion
from consumers.strategies.sma_cross import SmaCross

BUILTIN: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SmaCross, DonchianBreakout, BollingerReversion, RsiReversion)
}
