"""The headline Sharpe ratio and drawdown: the shortcuts for unchanged equity give the textbook figures, bit for
bit."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from consumers.ledger.performance import MS_PER_YEAR, max_drawdown_pct, moved_indices, sharpe

MINUTE = 60_000


def textbook_sharpe(equity: list[Decimal], bar_ms: int) -> float:
    returns = [float(now / before - 1) for before, now in itertools.pairwise(equity) if before]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) ** 2 for value in returns) / (len(returns) - 1)
    return 0.0 if variance <= 0 else mean / math.sqrt(variance) * math.sqrt(MS_PER_YEAR / bar_ms)


def textbook_drawdown_pct(equity: list[Decimal]) -> float:
    peak, worst = -math.inf, 0.0
    for value in equity:
        peak = max(peak, float(value))
        if peak > 0:
            worst = max(worst, (peak - float(value)) / peak)
    return worst * 100


equities = st.lists(
    st.sampled_from([Decimal(0), Decimal("100000"), Decimal("100000.00"), Decimal("1E+5"), Decimal("-3.5")])
    | st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=5),
    max_size=40,
)


@given(equities)
def test_sharpe_equals_the_textbook_computation(values: list[Decimal]) -> None:
    assert sharpe(values, moved_indices(values), MINUTE) == textbook_sharpe(values, MINUTE)


@given(equities)
def test_drawdown_equals_the_textbook_computation(values: list[Decimal]) -> None:
    assert max_drawdown_pct(values, moved_indices(values)) == textbook_drawdown_pct(values)
