"""Each built-in strategy's rule, on windows small enough to check by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from consumers.strategies.bollinger_reversion import BollingerReversion
from consumers.strategies.builtin import BUILTIN
from consumers.strategies.donchian_breakout import DonchianBreakout
from consumers.strategies.rsi_reversion import RsiReversion, wilder_rsi
from consumers.strategies.sma_cross import SmaCross
from consumers.strategies.window import Window
from events.models import BarClosed

ONE, ZERO = Decimal(1), Decimal(0)
T0 = 1_674_259_200_000  # 2023-01-21 00:00 UTC


def window(closes: list[float], highs: list[float] | None = None, lows: list[float] | None = None) -> Window:
    highs = highs or closes
    lows = lows or closes
    bars = [
        BarClosed(
            exchange="binance", symbol="BTC/USDT", timeframe="1m", open_time_ms=T0 + i * 60_000,
            close_time_ms=T0 + i * 60_000 + 59_999, open=Decimal(str(c)), high=Decimal(str(max(h, c))),
            low=Decimal(str(min(lo, c))), close=Decimal(str(c)), volume=Decimal(1),
        )
        for i, (c, h, lo) in enumerate(zip(closes, highs, lows, strict=True))
    ]  # fmt: skip
    return Window(bars)


def test_builtin_names() -> None:
    assert set(BUILTIN) == {"sma_cross", "donchian_breakout", "bollinger_reversion", "rsi_reversion"}


def test_sma_cross_long_flat_follows_the_reference_rule() -> None:
    strategy = SmaCross({"fast": 2, "slow": 4})
    assert strategy.lookback == 4
    assert strategy.target(window([1, 1, 2, 3]), ZERO) == ONE  # fast 2.5 > slow 1.75
    assert strategy.target(window([3, 2, 1, 1]), ONE) == ZERO  # fast 1.0 < slow 1.75
    assert strategy.target(window([2, 2, 2, 2]), ONE) == ZERO  # equal: not above, so flat


def test_sma_cross_long_short_shorts_below_and_keeps_the_target_when_equal() -> None:
    strategy = SmaCross({"fast": 2, "slow": 4, "mode": "long_short", "qty": "0.25"})
    assert strategy.target(window([3, 2, 1, 1]), ZERO) == Decimal("-0.25")
    assert strategy.target(window([2, 2, 2, 2]), Decimal("-0.25")) == Decimal("-0.25")
    assert strategy.target(window([2, 2, 2, 2]), Decimal("0.25")) == Decimal("0.25")


def test_sma_cross_refuses_fast_not_below_slow() -> None:
    with pytest.raises(ValidationError, match=r"fast \(30\) must be shorter than slow \(30\)"):
        SmaCross({"fast": 30, "slow": 30})


def test_donchian_enters_on_a_break_above_the_previous_highs_and_exits_below_the_exit_lows() -> None:
    strategy = DonchianBreakout({"entry": 3, "exit": 2})
    assert strategy.lookback == 4
    assert strategy.target(window([10, 11, 12, 13]), ZERO) == ONE  # 13 > max(10, 11, 12)
    assert strategy.target(window([10, 11, 12, 12]), ZERO) == ZERO  # equal to the high: no breakout
    assert strategy.target(window([12, 11, 12, 11.5]), ONE) == ONE  # above min(11, 12): hold
    assert strategy.target(window([12, 11, 12, 10.5]), ONE) == ZERO  # below min(11, 12): exit


def test_donchian_long_short_shorts_a_break_below_and_covers_above_the_exit_highs() -> None:
    strategy = DonchianBreakout({"entry": 3, "exit": 2, "mode": "long_short"})
    assert strategy.target(window([10, 9, 8, 7]), ZERO) == -ONE
    assert strategy.target(window([9, 8, 9, 8.5]), -ONE) == -ONE
    assert strategy.target(window([10, 8, 8.5, 9]), -ONE) == ZERO  # above max(8, 8.5), below the entry high 10


def test_bollinger_buys_below_the_lower_band_and_exits_at_the_middle() -> None:
    strategy = BollingerReversion({"period": 5, "k": 1.0})
    # mean 10, population std of [10, 11, 9, 11, 9] is 0.894: the lower band is 9.106
    assert strategy.target(window([10, 11, 10, 11, 8]), ZERO) == ONE  # mean 10, std 1.095, lower 8.905 > 8
    assert strategy.target(window([10, 11, 9, 11, 9.5]), ONE) == ONE  # below the middle (10.1): hold
    assert strategy.target(window([10, 9, 9, 10, 12]), ONE) == ZERO  # back above the middle: exit


def test_bollinger_long_short_shorts_above_the_upper_band() -> None:
    strategy = BollingerReversion({"period": 5, "k": 1.0, "mode": "long_short"})
    assert strategy.target(window([10, 9, 10, 9, 12]), ZERO) == -ONE
    assert strategy.target(window([10, 9, 10, 9, 9]), -ONE) == ZERO


def test_wilder_rsi_matches_a_hand_computation() -> None:
    # changes +1, +1, -1, +1 with period 2: seed gain 1, loss 0; then (1*1+0)/2=0.5 gain, (0+1)/2=0.5 loss;
    # then gain (0.5+1)/2=0.75, loss 0.25 → RS 3 → RSI 75
    assert wilder_rsi([1, 2, 3, 2, 3], 2) == pytest.approx(75.0)
    assert wilder_rsi([1, 2, 3], 2) == 100.0
    assert wilder_rsi([1, 1, 1], 2) == 50.0


def test_rsi_reversion_buys_oversold_and_exits_above_the_exit_level() -> None:
    strategy = RsiReversion({"period": 2})
    assert strategy.lookback == 7
    assert strategy.target(window([10, 9, 8, 7, 6, 5, 4]), ZERO) == ONE
    assert strategy.target(window([4, 5, 6, 7, 8, 9, 10]), ONE) == ZERO
    assert strategy.target(window([4, 5, 6, 7, 8, 9, 10]), ZERO) == ZERO


def test_strategies_are_pure() -> None:
    closes = [float(c) for c in (5, 7, 6, 8, 9, 7, 6, 5, 8, 9, 10, 7, 6, 9, 11, 12, 8, 7, 9, 10) * 3]
    the_window = window(closes)
    for cls in BUILTIN.values():
        strategy = cls()
        shaped = window(closes[-strategy.lookback :]) if strategy.lookback <= len(closes) else the_window
        answers = {strategy.target(shaped, current) for current in (ZERO,) * 3}
        assert len(answers) == 1


def textbook_rsi(closes: list[float], period: int) -> float:
    """Wilder's RSI as first written here (max() per change): the faster form must equal it to the last bit."""
    gains = losses = 0.0
    for index in range(1, period + 1):
        change = closes[index] - closes[index - 1]
        gains += max(change, 0.0)
        losses += max(-change, 0.0)
    average_gain, average_loss = gains / period, losses / period
    for index in range(period + 1, len(closes)):
        change = closes[index] - closes[index - 1]
        average_gain = (average_gain * (period - 1) + max(change, 0.0)) / period
        average_loss = (average_loss * (period - 1) + max(-change, 0.0)) / period
    if average_loss == 0:
        return 100.0 if average_gain > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


@given(
    closes=st.lists(
        st.one_of(st.floats(min_value=1e-12, max_value=1e12), st.sampled_from([1.0, 2.0, 100.5])),
        min_size=4, max_size=60,
    ),
    period=st.integers(min_value=2, max_value=15),
)  # fmt: skip
def test_wilder_rsi_equals_the_textbook_form_exactly(closes: list[float], period: int) -> None:
    period = min(period, len(closes) - 1)
    assert wilder_rsi(closes, period) == textbook_rsi(closes, period)
