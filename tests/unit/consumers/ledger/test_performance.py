"""The headline Sharpe ratio and drawdown: the shortcuts (unchanged equity, whole columns divided at once) give the
textbook figures bit for bit, and the per-bar returns, taken of the float marks, are the exact ones to a float's
precision."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from consumers.ledger.performance import bar_returns, max_drawdown, max_drawdown_pct, moved_indices, sharpe, sortino
from events.timeframes import MS_PER_YEAR, periods_per_year

MINUTE = 60_000


def textbook_returns(equity: list[Decimal]) -> list[float]:
    """Of the float marks (`EquityCurve.floats`; here each value's float), none after a zero equity."""
    return [(float(now) - float(before)) / float(before) for before, now in itertools.pairwise(equity) if before]


def textbook_sharpe(equity: list[Decimal], bar_ms: int) -> float:
    returns = textbook_returns(equity)
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) * (value - mean) for value in returns) / (len(returns) - 1)
    return 0.0 if variance <= 0 else mean / math.sqrt(variance) * math.sqrt(MS_PER_YEAR / bar_ms)


def textbook_drawdown_pct(equity: list[Decimal]) -> float:
    peak, worst = -math.inf, 0.0
    for value in equity:
        peak = max(peak, float(value))
        if peak > 0:
            worst = max(worst, (peak - float(value)) / peak)
    return worst * 100


equities = st.lists(
    # values that differ as Decimals but are one float: a new exact peak or low need not be a new float one
    st.sampled_from([Decimal(0), Decimal("100000"), Decimal("100000.00"), Decimal("1E+5"), Decimal("-3.5")])
    | st.sampled_from([Decimal("100000.000000000000000001"), Decimal("99999.99999999999999999999")])
    | st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=5),
    max_size=40,
)


def returns_of(equity: list[Decimal]) -> list[float]:
    return bar_returns(equity, [float(value) for value in equity])


@given(equities)
def test_sharpe_equals_the_textbook_computation(values: list[Decimal]) -> None:
    assert sharpe(returns_of(values), periods_per_year("1m")) == textbook_sharpe(values, MINUTE)


@given(equities)
def test_the_returns_are_the_exact_ones_to_a_floats_precision(values: list[Decimal]) -> None:
    exact = [now / before - 1 for before, now in itertools.pairwise(values) if before]
    returns = returns_of(values)
    assert len(returns) == len(exact)
    # each float mark is within half an ulp of its value, and a return is (now − before) / before
    assert all(
        math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-15 * float(abs(now) / abs(before) + 1))
        for got, want, (before, now) in zip(
            returns, exact, [pair for pair in itertools.pairwise(values) if pair[0]], strict=True
        )
    )


@given(equities)
def test_drawdown_equals_the_textbook_computation(values: list[Decimal]) -> None:
    assert max_drawdown_pct(values, moved_indices(values)) == textbook_drawdown_pct(values)


@given(equities)
def test_drawdown_in_money_is_the_largest_fall_from_any_earlier_value(values: list[Decimal]) -> None:
    falls = [values[i] - values[j] for i in range(len(values)) for j in range(i + 1, len(values))]
    assert max_drawdown(values, moved_indices(values)) == max([Decimal(0), *falls])


def test_sortino_divides_by_the_losses_only() -> None:
    equity = [Decimal(100), Decimal(110), Decimal(99), Decimal("108.9")]  # +10 %, -10 %, +10 %
    mean, downside = 0.1 / 3, math.sqrt(0.01 / 3)
    assert math.isclose(sortino(returns_of(equity), 1.0), mean / downside, rel_tol=1e-12)
    rising = [Decimal(100), Decimal(101), Decimal(103)]
    assert sortino(returns_of(rising), 1.0) == 0.0  # no loss: no downside to divide by


def test_the_same_bars_at_1m_and_at_1h_are_annualised_by_their_own_length() -> None:
    equity = [Decimal(100), Decimal(101), Decimal("100.5"), Decimal(102), Decimal("101.9")]
    returns = returns_of(equity)
    minute, hour = sharpe(returns, periods_per_year("1m")), sharpe(returns, periods_per_year("1h"))
    assert math.isclose(minute / hour, math.sqrt(60), rel_tol=1e-12)
    assert periods_per_year("1h") == 8_760 and periods_per_year("1m") == 525_600
