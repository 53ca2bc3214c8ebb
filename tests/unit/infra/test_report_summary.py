"""summary.json's Sharpe ratio: the shortcut for unchanged equity gives the textbook per-bar returns, bit for bit."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from infra.report.equity import EquityPoint
from infra.report.summary import MS_PER_YEAR, sharpe

MINUTE = 60_000


def textbook_sharpe(curve: list[EquityPoint], bar_ms: int) -> float:
    returns = [float(now.equity / before.equity - 1) for before, now in itertools.pairwise(curve) if before.equity]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) ** 2 for value in returns) / (len(returns) - 1)
    return 0.0 if variance <= 0 else mean / math.sqrt(variance) * math.sqrt(MS_PER_YEAR / bar_ms)


equities = st.lists(
    st.sampled_from([Decimal(0), Decimal("100000"), Decimal("100000.00"), Decimal("-3.5")])
    | st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=5),
    max_size=40,
)


@given(equities)
def test_sharpe_equals_the_textbook_computation(values: list[Decimal]) -> None:
    curve = [EquityPoint(n * MINUTE, equity, {}) for n, equity in enumerate(values)]
    assert sharpe(curve, MINUTE) == textbook_sharpe(curve, MINUTE)
