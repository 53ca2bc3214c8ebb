"""The pure comparison: the book plus the baseline against the exchange, asset by asset."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from consumers.reconciliation.comparison import book_holdings, compare
from consumers.stores.ports import Account, AccountKey

ASSETS = {"BTC/USDT": ("BTC", "USDT"), "ETH/USDT": ("ETH", "USDT"), "ETH/BTC": ("ETH", "BTC")}
amounts = st.decimals(min_value=-1000, max_value=1000, places=8, allow_nan=False, allow_infinity=False)
TOLERANCE = Decimal("0.000001")


def test_the_book_sums_the_sub_accounts_per_asset_and_takes_third_asset_fees_off() -> None:
    accounts = [
        Account(AccountKey("a", "binance", "BTC/USDT"), cash=Decimal(500), position=Decimal("0.1")),
        Account(AccountKey("b", "binance", "BTC/USDT"), cash=Decimal(250), position=Decimal("0.2"),
                fee_assets={"BNB": Decimal("0.01")}),
        Account(AccountKey("b", "binance", "ETH/BTC"), cash=Decimal("0.5"), position=Decimal(3)),
    ]  # fmt: skip
    assert book_holdings(accounts, ASSETS.__getitem__) == {
        "BTC": Decimal("0.8"), "USDT": Decimal(750), "ETH": Decimal(3), "BNB": Decimal("-0.01"),
    }  # fmt: skip


@given(book=st.dictionaries(st.sampled_from(["BTC", "ETH", "USDT", "BNB"]), amounts), baseline=amounts)
def test_an_exchange_holding_exactly_book_plus_baseline_agrees(book: dict[str, Decimal], baseline: Decimal) -> None:
    outside = {"USDT": baseline}
    exchange = {asset: book.get(asset, Decimal(0)) + outside.get(asset, Decimal(0)) for asset in {*book, "USDT"}}
    exchange["DOGE"] = Decimal(7)  # assets neither the book nor the baseline names are not STDS's
    rows = compare(book, outside, exchange, TOLERANCE)
    assert {row.asset for row in rows} == {*book, "USDT"}
    assert all(row.status == "agrees" for row in rows)


@given(
    book=st.dictionaries(st.sampled_from(["BTC", "ETH", "USDT"]), amounts, min_size=1),
    drift=st.decimals(min_value=Decimal("0.000002"), max_value=100, places=8),
    sign=st.sampled_from([1, -1]),
    data=st.data(),
)
def test_any_drift_beyond_the_tolerance_differs_in_exactly_that_asset_unless_in_flight(
    book: dict[str, Decimal], drift: Decimal, sign: int, data: st.DataObject
) -> None:
    drifted = data.draw(st.sampled_from(sorted(book)))
    exchange = dict(book)
    exchange[drifted] += sign * drift
    rows = {row.asset: row for row in compare(book, {}, exchange, TOLERANCE)}
    assert {asset for asset, row in rows.items() if row.status == "differs"} == {drifted}
    assert rows[drifted].difference == sign * drift
    in_flight = {row.asset: row.status for row in compare(book, {}, exchange, TOLERANCE, frozenset({drifted}))}
    assert in_flight[drifted] == "in flight"


def test_a_difference_is_described_with_every_number() -> None:
    (row,) = compare({"BTC": Decimal("0.0100")}, {}, {"BTC": Decimal("0.0098")}, TOLERANCE)
    assert row.describe() == "BTC: exchange 0.0098 vs book 0.01 + baseline 0 (difference -0.0002)"
