"""Invariants 2 and 3: duplicates and reordering within a window change nothing; targets never go back."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.strategies.base import Strategy, StrategyParams
from consumers.strategies.window import Window
from events.models import BarClosed, OrderRequested, TargetChanged
from tests.conftest import spot_day_bars
from tests.unit.consumers.pipeline import Pipeline

BARS = spot_day_bars(limit=240)


class Params(StrategyParams):
    fast: int = 3
    slow: int = 7


class FlipFlop(Strategy):
    """A fast-trading long/short SMA cross: many orders, so every invariant gets exercised."""

    name = "flip_flop"
    Params = Params

    @property
    def lookback(self) -> int:
        return self.params.slow  # type: ignore[attr-defined,no-any-return]

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        closes = window.closes
        fast, slow = self.params.fast, self.params.slow  # type: ignore[attr-defined]
        fast_sma = sum(closes[-fast:]) / fast
        slow_sma = sum(closes[-slow:]) / slow
        if fast_sma > slow_sma:
            return self.params.qty
        if fast_sma < slow_sma:
            return -self.params.qty
        return current_target


def baseline() -> Pipeline:
    pipeline = Pipeline(FlipFlop({"qty": "0.5"}))
    pipeline.run_in_order(BARS)
    return pipeline


BASELINE = baseline().outcome()


def test_baseline_trades_enough_to_mean_something() -> None:
    assert len(BASELINE["fills"]) > 20
    assert not BASELINE["rejects"]


@st.composite
def deliveries(draw: st.DrawFn) -> list[tuple[float, int]]:
    """Each bar 1–3 times, each copy displaced by less than the lookback (7 bars)."""
    plan: list[tuple[float, int]] = []
    for index in range(len(BARS)):
        copies = draw(st.integers(1, 3))
        for _ in range(copies):
            plan.append((index + draw(st.floats(0, 5.99)), index))
    plan.sort()
    return plan


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=deliveries(),
    order_lag=st.lists(st.integers(0, 4), min_size=1, max_size=50),
    repeat=st.integers(1, 3),
)
def test_duplicated_and_reordered_deliveries_give_the_same_orders_fills_and_holdings(
    plan: list[tuple[float, int]], order_lag: list[int], repeat: int
) -> None:
    pipeline = Pipeline(FlipFlop({"qty": "0.5"}))
    in_flight: list[OrderRequested] = []
    for step, (_, index) in enumerate(plan):
        for event in pipeline.bar(BARS[index]):
            if isinstance(event, OrderRequested):
                in_flight.extend([event] * repeat)  # the bus may deliver an order several times
        # orders reach execution late and out of order, interleaved with later bars
        lag = order_lag[step % len(order_lag)]
        while len(in_flight) > lag:
            pipeline.order(in_flight.pop(step % len(in_flight)))
        _assert_never_ordered_twice(pipeline)
    for order in reversed(in_flight):
        pipeline.order(order)
    assert pipeline.outcome() == BASELINE


def _assert_never_ordered_twice(pipeline: Pipeline) -> None:
    """Invariant 3: whatever is in flight, position + pending is exactly the target."""
    for account in pipeline.book.accounts():
        assert account.position + account.pending == account.target


def test_stale_bar_never_moves_the_target_back() -> None:
    pipeline = Pipeline(FlipFlop())
    pipeline.run_in_order(BARS[:60])
    before = pipeline.outcome()
    for old in reversed(BARS[30:59]):
        assert pipeline.bar(old) == []
    assert pipeline.outcome() == before


def test_redelivered_bar_reannounces_only_an_unsettled_order() -> None:
    pipeline = Pipeline(FlipFlop())
    order = next(event for bar in BARS for event in pipeline.bar(bar) if isinstance(event, OrderRequested))
    triggering = next(bar for bar in BARS if bar.open_time_ms == order.bar_open_time_ms)
    assert pipeline.bar(triggering) == [order]
    pipeline.order(order)
    assert pipeline.bar(triggering) == []


def test_no_decision_before_the_lookback_is_full() -> None:
    pipeline = Pipeline(FlipFlop())
    assert [pipeline.bar(bar) for bar in BARS[:6]] == [[]] * 6
    assert any(isinstance(e, TargetChanged) for e in pipeline.bar(BARS[6]))


def test_a_gap_pauses_decisions_until_the_window_is_whole_again() -> None:
    pipeline = Pipeline(FlipFlop())
    with_gap = BARS[:20] + BARS[21:40]
    decided = [bool(pipeline.bar(bar)) or _cursor(pipeline) == bar.open_time_ms for bar in with_gap]
    # bars 21..26 have the missing bar 20 inside their 7-bar window: no decision on them
    assert decided[20:26] == [False] * 6
    assert decided[26]
    assert _cursor(pipeline) == BARS[39].open_time_ms


def _cursor(pipeline: Pipeline) -> int | None:
    accounts = pipeline.book.accounts()
    return accounts[0].decided_through_ms if accounts else None


def test_bars_arriving_out_of_order_during_warm_up_still_decide_in_order() -> None:
    in_order = Pipeline(FlipFlop())
    in_order.run_in_order(BARS[:20])
    shuffled = Pipeline(FlipFlop())
    swapped: list[BarClosed] = [*BARS[:5], BARS[6], BARS[5], *BARS[7:20]]
    shuffled.run_in_order(swapped)
    assert shuffled.outcome() == in_order.outcome()
