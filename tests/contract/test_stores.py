"""One suite, every store adapter: bar history, the book, processed ids, the kill switch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from consumers.stores.kill_switch_modes import KILL_SWITCH_MODES, KillSwitchMode
from consumers.stores.ports import AccountKey, Decision, KillSwitchState, Stores, UnknownOrder
from events.models import OrderFilled, OrderRequested
from events.streams import StreamKey
from tests.conftest import spot_day_bars
from tests.factories import filled, order_requested, rejected

BARS = spot_day_bars(limit=100)
STREAM = StreamKey("binance", "BTC/USDT", "1m")
KEY = AccountKey("sma", "binance", "BTC/USDT")
CASH = Decimal(100_000)


def _order(bar: int, qty: str = "1") -> OrderRequested:
    return order_requested(KEY, bar, qty)


def test_bar_added_once_and_window_is_the_consecutive_bars(stores: Stores) -> None:
    assert all(stores.bars.add(bar) for bar in BARS[:40])
    assert not stores.bars.add(BARS[10])
    window = stores.bars.window(STREAM, BARS[39].open_time_ms, 30)
    assert window is not None
    assert [bar.open_time_ms for bar in window.bars] == [bar.open_time_ms for bar in BARS[10:40]]
    assert window.closes == [float(bar.close) for bar in BARS[10:40]]


def test_window_with_a_missing_bar_is_none(stores: Stores) -> None:
    for bar in BARS[:20] + BARS[21:40]:
        stores.bars.add(bar)
    assert stores.bars.window(STREAM, BARS[39].open_time_ms, 30) is None
    assert stores.bars.window(STREAM, BARS[39].open_time_ms, 19) is not None
    assert stores.bars.window(STREAM, BARS[45].open_time_ms, 1) is None


def test_late_bar_is_slotted_into_place(stores: Stores) -> None:
    for bar in BARS[:10] + BARS[11:20]:
        stores.bars.add(bar)
    assert stores.bars.add(BARS[10])
    window = stores.bars.window(STREAM, BARS[19].open_time_ms, 20)
    assert window is not None and list(window.bars) == BARS[:20]


def test_decide_records_order_and_pending_once(stores: Stores) -> None:
    order = _order(0)
    assert stores.book.decide(Decision(KEY, 0, Decimal(1), order))
    assert not stores.book.decide(Decision(KEY, 0, Decimal(1), order))
    assert not stores.book.decide(Decision(KEY, -60_000, Decimal(0), None))
    account = stores.book.account(KEY)
    assert (account.pending, account.target, account.decided_through_ms) == (1, 1, 0)
    record = stores.book.order(order.order_id)
    assert record is not None and record.request == order and record.settlement is None


def test_move_cursor_moves_the_cursor_and_nothing_else_once(stores: Stores) -> None:
    assert stores.book.move_cursor(KEY, 0, Decimal(0))  # an account never seen: a fresh one, decided through 0
    assert stores.book.decide(Decision(KEY, 60_000, Decimal(1), _order(60_000)))
    before = stores.book.account(KEY)
    assert stores.book.move_cursor(KEY, 180_000, Decimal(1))
    assert not stores.book.move_cursor(KEY, 180_000, Decimal(1))  # decided already: no change
    assert not stores.book.move_cursor(KEY, 120_000, Decimal(1))  # a stale bar never moves the cursor back
    stores.book.end_decisions()
    after = stores.book.account(KEY)
    assert after.decided_through_ms == 180_000
    assert (after.cash, after.position, after.pending, after.target) == (CASH, 0, 1, 1)
    assert (before.cash, before.position, before.pending, before.target) == (CASH, 0, 1, 1)


def test_settle_applies_exactly_once(stores: Stores) -> None:
    order = _order(0, "2")
    stores.book.decide(Decision(KEY, 0, Decimal(2), order))
    fill = filled(order, price="100.5", fee="0.201")
    assert stores.book.settle(fill)
    assert not stores.book.settle(fill)
    account = stores.book.account(KEY)
    assert (account.position, account.pending, account.fees) == (2, 0, Decimal("0.201"))
    assert account.cash == CASH - Decimal("201.0") - Decimal("0.201")


def test_reject_releases_pending(stores: Stores) -> None:
    order = _order(0, "-1")
    stores.book.decide(Decision(KEY, 0, Decimal(-1), order))
    rejection = rejected(order)
    assert stores.book.settle(rejection)
    account = stores.book.account(KEY)
    assert (account.position, account.pending, account.rejects) == (0, 0, 1)


def test_processed_ids(stores: Stores) -> None:
    assert not stores.processed.seen("sma", "bar:1")
    stores.processed.mark("sma", "bar:1")
    assert stores.processed.seen("sma", "bar:1")
    assert not stores.processed.seen("other", "bar:1")


@pytest.mark.parametrize("mode", KILL_SWITCH_MODES)
def test_kill_switch_keeps_its_mode_reason_and_engagement(stores: Stores, mode: KillSwitchMode) -> None:
    assert stores.kill_switch.engaged() is None
    engaged = KillSwitchState.new(mode, "maintenance")
    stores.kill_switch.engage(engaged)
    assert stores.kill_switch.engaged() == engaged
    stores.kill_switch.release()
    assert stores.kill_switch.engaged() is None


def test_a_flatten_turns_to_halt_only_if_it_is_still_that_flatten(stores: Stores) -> None:
    switch = stores.kill_switch
    flatten = KillSwitchState.new("flatten", "incident")
    assert not switch.settle_flatten(flatten, "flattened")  # released meanwhile: stays released
    assert switch.engaged() is None
    switch.engage(KillSwitchState.new("flatten", "incident"))  # another engagement of the same words
    assert not switch.settle_flatten(flatten, "flattened")
    switch.engage(flatten)
    assert switch.settle_flatten(flatten, "flattened")
    assert switch.engaged() == KillSwitchState("halt", "flattened", flatten.engagement)
    assert not switch.settle_flatten(flatten, "flattened again")  # once
    assert switch.engaged() == KillSwitchState("halt", "flattened", flatten.engagement)


def test_a_placed_order_is_pending_once_and_moves_no_cursor(stores: Stores) -> None:
    assert stores.book.decide(Decision(KEY, 0, Decimal(1), _order(0)))
    closing = order_requested(KEY, 60_000, "-1", target="0")
    assert stores.book.place(closing)
    assert not stores.book.place(closing)
    account = stores.book.account(KEY)
    assert (account.pending, account.target, account.decided_through_ms) == (Decimal(0), Decimal(1), 0)
    record = stores.book.order(closing.order_id)
    assert record is not None and record.request == closing and record.settlement is None


def test_settling_an_unknown_order_raises(stores: Stores) -> None:
    with pytest.raises(UnknownOrder):
        stores.book.settle(filled(_order(0)))


def test_accounts_and_orders_are_listed_with_exact_money(stores: Stores) -> None:
    other = AccountKey("donchian", "binance", "ETH/USDT")
    first, second = _order(0, "0.001"), order_requested(other, 0, "-0.5", price="1234.5678")
    stores.book.decide(Decision(KEY, 0, Decimal("0.001"), first))
    stores.book.decide(Decision(other, 0, Decimal("-0.5"), second))
    stores.book.settle(filled(first, price="23000.01", fee="0.0000230000"))
    stores.book.settle(rejected(second, "no short"))
    accounts = {account.key: account for account in stores.book.accounts()}
    assert accounts[KEY].cash == CASH - Decimal("23.00001") - Decimal("0.0000230000")
    assert (accounts[other].rejects, accounts[other].refused_target, accounts[other].pending) == (1, -0.5, 0)
    records = {record.request.order_id: record for record in stores.book.orders()}
    assert records[second.order_id].settlement == rejected(second, "no short")
    assert records[first.order_id].request == first


def test_each_commission_is_booked_in_the_asset_it_was_paid_in(stores: Stores) -> None:
    """A base-asset fee comes off the position, a quote fee off cash, a BNB fee is kept as BNB."""
    buy, sell = _order(0, "0.01"), _order(60_000, "-0.00999")
    stores.book.decide(Decision(KEY, 0, Decimal("0.01"), buy))
    stores.book.decide(Decision(KEY, 60_000, Decimal(0), sell))
    stores.book.settle(
        OrderFilled(**buy.identity(), price=Decimal(20_000), fee=Decimal(0), fee_base=Decimal("0.00001"))
    )
    stores.book.settle(
        OrderFilled(**sell.identity(), price=Decimal(20_100), fee=Decimal(0), fee_other={"BNB": Decimal("0.0005")})
    )
    stores.commit()
    (account,) = stores.book.accounts()
    assert account.position == Decimal(0)  # received 0.00999, sold 0.00999
    assert account.cash == CASH - Decimal(200) + Decimal("200.799")
    assert account.fees == Decimal("0.2")  # the BTC fee valued at its fill price; BNB is not converted
    assert account.fee_assets == {"BNB": Decimal("0.0005")}
