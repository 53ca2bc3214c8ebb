"""The kill switch's one rule (what passes in each mode) and the closing orders of a flatten."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.execution.kill_switch import closing_order, kill_switch_refusal, reduces_toward_flat
from consumers.stores.ports import Account, AccountKey, KillSwitchState
from events.models import OrderRequested
from tests.conftest import spot_day_bars
from tests.factories import order_requested

KEY = AccountKey("sma", "binance", "BTC/USDT")
quantities = st.decimals(min_value="0.001", max_value="1000", places=3)
positions = st.decimals(min_value="-1000", max_value="1000", places=3)


def _order(signed_qty: Decimal) -> OrderRequested:
    return order_requested(KEY, 0, str(signed_qty))


@pytest.mark.parametrize(
    ("position", "signed_qty", "passes"),
    [
        ("2", "-1", True),  # part of a long sold
        ("2", "-2", True),  # all of it: flat
        ("2", "-3", False),  # would cross zero into a short
        ("2", "1", False),  # adds to the long
        ("-2", "2", True),
        ("-2", "3", False),
        ("-2", "-1", False),
        ("0", "1", False),  # from flat every order increases the exposure
        ("0", "-1", False),
    ],
)
def test_reduce_only_passes_exactly_the_orders_toward_flat(position: str, signed_qty: str, passes: bool) -> None:
    switch = KillSwitchState.new("reduce-only", "incident")
    refusal = kill_switch_refusal(switch, _order(Decimal(signed_qty)), Decimal(position))
    assert (refusal is None) is passes
    if not passes:
        assert refusal is not None and refusal.startswith("kill switch engaged (reduce-only: ")
        assert refusal.endswith("): incident")


@given(position=positions, signed_qty=quantities | quantities.map(lambda qty: -qty))
def test_reduce_only_never_increases_the_absolute_position(position: Decimal, signed_qty: Decimal) -> None:
    for mode in ("reduce-only", "flatten"):
        if kill_switch_refusal(KillSwitchState.new(mode, "r"), _order(signed_qty), position) is None:
            assert abs(position + signed_qty) <= abs(position)
            assert (position + signed_qty) * position >= 0  # never across zero


@given(position=positions, signed_qty=quantities | quantities.map(lambda qty: -qty))
def test_halt_passes_nothing_and_a_released_switch_everything(position: Decimal, signed_qty: Decimal) -> None:
    order = _order(signed_qty)
    assert kill_switch_refusal(KillSwitchState.new("halt", "why"), order, position) == "kill switch engaged: why"
    assert kill_switch_refusal(None, order, position) is None


@given(position=positions.filter(bool))
def test_a_closing_order_takes_the_account_exactly_flat_and_passes_the_rule(position: Decimal) -> None:
    flatten = KillSwitchState.new("flatten", "incident")
    bar = spot_day_bars(1)[0]
    order = closing_order(flatten, Account(KEY, Decimal(0), position), bar)
    assert position + order.signed_qty == 0 and order.target == 0
    assert (order.reference_price, order.bar_open_time_ms) == (bar.close, bar.open_time_ms)
    assert reduces_toward_flat(order.side, order.qty, position)
    again = closing_order(flatten, Account(KEY, Decimal(0), position), bar)
    other = closing_order(KillSwitchState.new("flatten", "incident"), Account(KEY, Decimal(0), position), bar)
    assert again.order_id == order.order_id != other.order_id
