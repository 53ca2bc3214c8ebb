"""Headline figures of an equity curve: drawdown and risk-adjusted return (Sharpe, Sortino) per bar, annualised
by the bar's own length."""

from __future__ import annotations

import itertools
import math
import operator
from decimal import Decimal

ZERO = Decimal(0)


def moved_indices(equity: list[Decimal]) -> list[int]:
    """The indices of the values that differ from the one before (compared in C): a flat position's bars do not,
    and drawdown and Sharpe skip the work on those."""
    return list(itertools.compress(range(1, len(equity)), map(operator.ne, equity[1:], equity)))


def max_drawdown_pct(equity: list[Decimal], moved: list[int]) -> float:
    """The largest fall from a peak, in % of the peak, in floats. Only a new peak or a new low since the peak can
    change the answer (float() and the float arithmetic are monotonic: a value between them gives a fall no
    larger), so only those are converted, after exact comparisons: a float() of a Decimal goes through its text."""
    if not equity:
        return 0.0
    peak = low = equity[0]
    peak_float, worst = float(peak), 0.0
    for now in map(equity.__getitem__, moved):
        if now > peak:
            peak = low = now
            peak_float = float(now)
        elif now < low and peak_float > 0:
            low = now
            worst = max(worst, (peak_float - float(now)) / peak_float)
    return worst * 100


def max_drawdown(equity: list[Decimal], moved: list[int]) -> Decimal:
    """The largest fall from a peak, in money (exact). Only the values that moved can set a peak or a fall."""
    peak, worst = None, ZERO
    for now in itertools.chain(equity[:1], map(equity.__getitem__, moved)):
        if peak is None or now > peak:
            peak = now
        elif peak - now > worst:
            worst = peak - now
    return worst


def sharpe(returns: list[float], periods_per_year: float) -> float:
    """Annualised from per-bar simple returns (`bar_returns`, risk-free rate 0) by the bars a year holds; 0 when
    equity never moved."""
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    # a list, not a generator; each square a product (`** 2` goes through pow(), twice as long a bar)
    variance = sum([(value - mean) * (value - mean) for value in returns]) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(periods_per_year)


def sortino(returns: list[float], periods_per_year: float) -> float:
    """As Sharpe, over the downside deviation (the root mean square of the returns below 0, over every bar);
    0 when no bar lost."""
    if len(returns) < 2:
        return 0.0
    downside = sum([value * value for value in returns if value < 0]) / len(returns)
    if downside <= 0:
        return 0.0
    return sum(returns) / len(returns) / math.sqrt(downside) * math.sqrt(periods_per_year)


def bar_returns(equity: list[Decimal], floats: list[float]) -> list[float]:
    """Each bar's simple return on the bar before, none after a zero equity: the ratio taken of `floats` (the same
    curve in float arithmetic, `EquityCurve.floats`), the zero test of `equity`. A return is a ratio, needed to a
    float's precision; a float() of each exact value would go through its text, which was most of a sweep item's
    report. An unchanged value's return is 0.0 exactly, as it is exactly."""
    before = floats[:-1]
    if all(equity):  # in C: no zero to skip, so the whole column divides at C speed
        return list(map(operator.truediv, map(operator.sub, floats[1:], before), before))
    return [(now - then) / then for now, then in itertools.compress(zip(floats[1:], before, strict=True), equity)]
