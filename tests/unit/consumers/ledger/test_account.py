"""A sub-account's ledger against hand-worked cases and against independent rules: realised (FIFO lots) plus
unrealised (open lots at the mark) is the cash-and-position PnL; an account back to flat realised exactly its cash
flows, and so did its round trips; cutting fills into partial fills changes no number (but which trip pays the
fees of a fill that flips the position)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.ledger.account import AccountLedger
from events.models import OrderFilled

ZERO = Decimal(0)
START = Decimal(10_000)
MINUTE = 60_000


def fill(
    number: int,
    side: str,
    qty: str | Decimal,
    price: str | Decimal,
    *,
    fee: str | Decimal = "0",
    fee_base: str | Decimal = "0",
    fee_other: dict[str, Decimal] | None = None,
) -> OrderFilled:
    return OrderFilled(
        order_id=f"o{number}",
        strategy="sma",
        exchange="binance",
        symbol="BTC/USDT",
        side=side,
        qty=Decimal(qty),
        bar_open_time_ms=number * MINUTE,
        price=Decimal(price),
        fee=Decimal(fee),
        fee_base=Decimal(fee_base),
        fee_other=fee_other or {},
    )


def ledger_of(fills: list[OrderFilled], start: Decimal = START) -> AccountLedger:
    ledger = AccountLedger("sma", "binance", "BTC/USDT", starting_cash=start)
    for one in fills:
        ledger.apply(one)
    return ledger


def test_a_partial_exit_realises_the_units_sold_and_leaves_the_rest_open() -> None:
    ledger = ledger_of([fill(0, "buy", "2", "100", fee="0.2"), fill(1, "sell", "1", "110", fee="0.11")])
    assert ledger.realised == Decimal("9.69")  # one unit sold 10 higher, less both fees
    assert ledger.unrealised(Decimal(120)) == Decimal(20)  # one unit held from 100, marked at 120
    assert ledger.pnl(Decimal(120)) == Decimal("29.69")
    assert ledger.round_trips == [] and ledger.open_trip_since_ms == 0


def test_lots_close_first_in_first_out() -> None:
    ledger = ledger_of([fill(0, "buy", "1", "100"), fill(1, "buy", "1", "200"), fill(2, "sell", "1", "150")])
    assert (ledger.realised, ledger.unrealised(Decimal(150))) == (Decimal(50), Decimal(-50))


def test_a_short_round_trip_earns_the_fall_less_its_fees() -> None:
    ledger = ledger_of([fill(0, "sell", "1", "100", fee="1"), fill(3, "buy", "1", "90", fee="1")])
    (trip,) = ledger.round_trips
    assert (trip.side, trip.profit, trip.fees, trip.fills, trip.duration_ms) == ("short", Decimal(8), 2, 2, 3 * MINUTE)
    assert (trip.entry_qty, trip.entry_notional, trip.exit_notional) == (1, 100, 90)
    assert trip.profit_pct == 8.0


def test_a_flip_closes_one_trip_and_opens_the_next_with_the_rest() -> None:
    ledger = ledger_of([fill(0, "buy", "1", "100", fee="1"), fill(1, "sell", "3", "110", fee="3")])
    (trip,) = ledger.round_trips
    assert (trip.side, trip.profit, trip.exit_notional, trip.fees) == ("long", Decimal(6), Decimal(110), Decimal(4))
    assert ledger.position == -2 and ledger.open_trip_since_ms == MINUTE
    assert ledger.unrealised(Decimal(100)) == Decimal(20)  # two units short from 110
    assert ledger.realised + ledger.unrealised(Decimal(100)) == ledger.pnl(Decimal(100)) == Decimal(26)


def test_a_commission_in_the_base_asset_is_booked_as_base_and_valued_in_the_quote() -> None:
    buy = fill(0, "buy", "0.01", "50000", fee_base="0.00001")
    sell = fill(1, "sell", "0.00999", "51000", fee="0.50949")
    ledger = ledger_of([buy, sell])
    assert ledger.position == 0 and ledger.fees_by_asset == {"BTC": Decimal("0.00001"), "USDT": Decimal("0.50949")}
    assert ledger.fees_quote == Decimal("1.00949")  # 0.00001 BTC at the buy's 50,000, and the sell's quote fee
    (trip,) = ledger.round_trips
    assert trip.profit == ledger.realised == ledger.cash - START == Decimal("8.98051")  # -500 + 509.49 - 0.50949


def test_a_fill_its_base_commission_ate_whole_is_a_round_trip_in_and_out() -> None:
    ledger = ledger_of([fill(2, "buy", "0.001", "100", fee_base="0.001")])
    (trip,) = ledger.round_trips
    assert (ledger.position, trip.profit, trip.duration_ms) == (0, Decimal("-0.1"), 0) == (0, ledger.realised, 0)


def test_a_commission_in_bnb_is_kept_by_asset_and_not_valued() -> None:
    ledger = ledger_of([fill(0, "buy", "1", "100", fee_other={"BNB": Decimal("0.0005")})])
    assert ledger.fees_by_asset == {"BNB": Decimal("0.0005")} and ledger.fees_quote == 0 and ledger.realised == 0


amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3)
prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(90_000), places=2)
fills_drawn = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        amounts,
        prices,
        st.sampled_from([ZERO, Decimal("0.1"), Decimal("1E+1")]),
        st.sampled_from([ZERO, Decimal("0.0001")]),
    ),
    max_size=25,
)


def fills_of(drawn: list[tuple[str, Decimal, Decimal, Decimal, Decimal]]) -> list[OrderFilled]:
    return [
        fill(number, side, qty, price, fee=fee, fee_base=fee_base if side == "buy" else ZERO)
        for number, (side, qty, price, fee, fee_base) in enumerate(drawn)
    ]


@settings(max_examples=300, deadline=None)
@given(fills_drawn, prices)
def test_realised_plus_unrealised_is_the_cash_and_position_pnl(
    drawn: list[tuple[str, Decimal, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    fills = fills_of(drawn)
    ledger = ledger_of(fills)
    cash = START + sum((one.cash_change for one in fills), ZERO)  # the cash flows, summed on their own
    position = sum((one.position_change for one in fills), ZERO)
    assert (ledger.cash, ledger.position) == (cash, position)
    assert ledger.realised + ledger.unrealised(mark) == cash + position * mark - START
    if position == 0:
        assert ledger.unrealised(mark) == 0
        assert sum((trip.profit for trip in ledger.round_trips), ZERO) == ledger.realised == cash - START


@settings(max_examples=200, deadline=None)
@given(fills_drawn, st.data())
def test_partial_fills_add_up_to_the_whole_fill(
    drawn: list[tuple[str, Decimal, Decimal, Decimal, Decimal]], data: st.DataObject
) -> None:
    whole = fills_of(drawn)
    parts: list[OrderFilled] = []
    for one in whole:
        if one.qty < Decimal("0.002"):
            parts.append(one)
            continue
        cut = data.draw(st.integers(1, int(one.qty * 1000) - 1), label="cut") / Decimal(1000)
        fee_cut = data.draw(st.sampled_from([ZERO, one.fee / 2, one.fee]), label="fee cut")
        base_cut = one.fee_base if cut >= one.qty - cut else ZERO  # with the larger part: it never eats a part
        parts.append(one.model_copy(update={"qty": cut, "fee": fee_cut, "fee_base": base_cut}))
        parts.append(
            one.model_copy(update={"qty": one.qty - cut, "fee": one.fee - fee_cut, "fee_base": one.fee_base - base_cut})
        )
    expected, cut_up = ledger_of(whole), ledger_of(parts)
    mark = Decimal(1000)
    assert (cut_up.cash, cut_up.position, cut_up.fees_quote) == (expected.cash, expected.position, expected.fees_quote)
    assert (cut_up.realised, cut_up.unrealised(mark)) == (expected.realised, expected.unrealised(mark))
    if not _flips(whole):  # a flip's fees go to the trip it closes; cut, the first part may close it alone
        assert [t.profit for t in cut_up.round_trips] == [t.profit for t in expected.round_trips]


def _flips(fills: list[OrderFilled]) -> bool:
    position = ZERO
    for one in fills:
        after = position + one.position_change
        if position and after and (position > 0) != (after > 0):
            return True
        position = after
    return False
