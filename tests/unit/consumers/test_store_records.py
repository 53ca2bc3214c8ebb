"""The record codec: any account survives its stored fields, an SQLite row and a DynamoDB item unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consumers.stores.dynamodb import _account_from_item, _account_item
from consumers.stores.ports import Account, AccountKey
from consumers.stores.records import account_fields, account_from_fields
from consumers.stores.sqlite import _account_from_row, _account_row

money = st.decimals(min_value=-(10**12), max_value=10**12, places=8, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=10**9)
accounts = st.builds(
    Account,
    key=st.builds(AccountKey, st.sampled_from(["sma", "rsi-2"]), st.just("binance"), st.sampled_from(["BTC/USDT"])),
    cash=money,
    position=money,
    pending=money,
    fees=money,
    target=money,
    decided_through_ms=st.none() | st.integers(min_value=0, max_value=2**53),
    fills=counts,
    rejects=counts,
    refused_target=st.none() | money,
    fee_assets=st.dictionaries(st.sampled_from(["BNB", "FDUSD"]), money),
)


@given(accounts)
def test_an_account_survives_its_stored_fields_a_row_and_an_item(account: Account) -> None:
    assert account_from_fields(account_fields(account)) == account
    assert _account_from_row(_account_row(account)) == account
    assert _account_from_item(_account_item(account, 7)) == (account, 7)
