"""Records as today's stores wrote them still read, and what the stores write now is that same format: an SQLite
state file's rows and DynamoDB's items, byte for byte (consumers/stores/records.py is their one codec)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from consumers.stores.dynamodb import DynamoBook, TableNames
from consumers.stores.ports import Account, AccountKey, OrderRecord
from consumers.stores.sqlite import SCHEMA, SqliteState
from events.models import OrderFilled, OrderRejected, OrderRequested

CASH = Decimal(1000)
BTC, ETH = AccountKey("sma", "binance", "BTC/USDT"), AccountKey("sma", "binance", "ETH/USDT")
BUY = (
    '{"schema_version":1,"order_id":"stds-85d6474f112c83ae6460a250fb188b","strategy":"sma","exchange":"binance",'
    '"symbol":"BTC/USDT","side":"buy","qty":"0.5","bar_open_time_ms":1700000000000,"target":"0.5",'
    '"reference_price":"100"}'
)
FILL = (
    '{"schema_version":1,"order_id":"stds-85d6474f112c83ae6460a250fb188b","strategy":"sma","exchange":"binance",'
    '"symbol":"BTC/USDT","side":"buy","qty":"0.5","bar_open_time_ms":1700000000000,"price":"101.5","fee":"0.05",'
    '"fee_base":"0","fee_other":{}}'
)
SELL = (
    '{"schema_version":1,"order_id":"stds-25a92a39bcd498510ae84126f5bfcd","strategy":"sma","exchange":"binance",'
    '"symbol":"ETH/USDT","side":"sell","qty":"0.5","bar_open_time_ms":1700000060000,"target":"0",'
    '"reference_price":"100"}'
)
REJECT = (
    '{"schema_version":1,"order_id":"stds-25a92a39bcd498510ae84126f5bfcd","strategy":"sma","exchange":"binance",'
    '"symbol":"ETH/USDT","side":"sell","qty":"0.5","bar_open_time_ms":1700000060000,"reason":"kill switch"}'
)
BUY_ID, SELL_ID = "stds-85d6474f112c83ae6460a250fb188b", "stds-25a92a39bcd498510ae84126f5bfcd"

# what the book holds: BTC bought 0.5, not settled yet; ETH with every optional field set
BTC_BEFORE = Account(BTC, cash=CASH, pending=Decimal("0.5"), target=Decimal("0.5"), decided_through_ms=1700000000000)
ETH_ACCOUNT = Account(
    ETH,
    cash=Decimal("1050.25"),
    position=Decimal("0.5"),
    fees=Decimal("0.125"),
    target=Decimal("0.5"),
    decided_through_ms=1700000060000,
    fills=1,
    rejects=1,
    refused_target=Decimal("0"),
    fee_assets={"BNB": Decimal("0.0012")},
)
ORDERS = [
    OrderRecord(OrderRequested.model_validate_json(BUY)),
    OrderRecord(OrderRequested.model_validate_json(SELL), OrderRejected.model_validate_json(REJECT)),
]
# after the BTC buy fills at 101.5 with a fee of 0.05
BTC_AFTER = ("sma", "binance", "BTC/USDT", "949.20", "0.5", "0.0", "0.05", "0.5", 1700000000000, 1, 0, None, None)

SQLITE_ACCOUNTS = [
    ("sma", "binance", "BTC/USDT", "1000", "0", "0.5", "0", "0.5", 1700000000000, 0, 0, None, None),
    ("sma", "binance", "ETH/USDT", "1050.25", "0.5", "0", "0.125", "0.5", 1700000060000, 1, 1, "0", '{"BNB":"0.0012"}'),
]
SQLITE_ORDERS = [(BUY_ID, BUY, None, None), (SELL_ID, SELL, "OrderRejected", REJECT)]


def _dynamo_account(fields: tuple[Any, ...], version: int) -> dict[str, Any]:
    strategy, exchange, symbol, cash, position, pending, fees, target, cursor, fills, rejects, refused, paid = fields
    item = {
        "strategy": {"S": strategy},
        "account": {"S": f"{exchange}|{symbol}"},
        "exchange": {"S": exchange},
        "symbol": {"S": symbol},
        "cash": {"S": cash},
        "position": {"S": position},
        "pending": {"S": pending},
        "fees": {"S": fees},
        "target": {"S": target},
        "decided_through_ms": {"N": str(cursor)},
        "fills": {"N": str(fills)},
        "rejects": {"N": str(rejects)},
        "version": {"N": str(version)},
    }
    if refused is not None:
        item["refused_target"] = {"S": refused}
    if paid is not None:
        item["fee_assets"] = {"M": {"BNB": {"S": "0.0012"}}}
    return item


DYNAMO_ORDERS = [
    {"order_id": {"S": BUY_ID}, "strategy": {"S": "sma"}, "request": {"S": BUY}},
    {
        "order_id": {"S": SELL_ID},
        "strategy": {"S": "sma"},
        "request": {"S": SELL},
        "settlement_type": {"S": "OrderRejected"},
        "settlement": {"S": REJECT},
    },
]


def _by_key(accounts: list[Account]) -> dict[AccountKey, Account]:
    return {account.key: account for account in accounts}


def test_a_state_file_of_today_reads_back_and_a_settlement_writes_the_same_format(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        connection.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", SQLITE_ACCOUNTS)
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", SQLITE_ORDERS)
    connection.close()
    state = SqliteState(path, CASH)
    assert _by_key(state.book.accounts()) == {BTC: BTC_BEFORE, ETH: ETH_ACCOUNT}
    assert state.book.orders() == ORDERS
    assert state.book.settle(OrderFilled.model_validate_json(FILL))
    state.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT * FROM accounts ORDER BY symbol").fetchall() == [
            BTC_AFTER,
            SQLITE_ACCOUNTS[1],
        ]
        assert connection.execute("SELECT * FROM orders ORDER BY order_id").fetchall() == [
            (SELL_ID, SELL, "OrderRejected", REJECT),
            (BUY_ID, BUY, "OrderFilled", FILL),
        ]
    connection.close()


def test_a_state_file_from_before_third_asset_fees_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            SCHEMA.replace(",\n    refused_target TEXT, fee_assets TEXT,", ",\n    refused_target TEXT,")
        )
        connection.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", SQLITE_ACCOUNTS[0][:-1])
    connection.close()
    state = SqliteState(path, CASH)
    assert state.book.accounts() == [BTC_BEFORE]
    state.close()


def test_dynamodb_items_of_today_read_back_and_a_settlement_writes_the_same_format(
    dynamodb: Any, tables: TableNames
) -> None:
    for fields in SQLITE_ACCOUNTS:
        dynamodb.put_item(TableName=tables.subaccounts, Item=_dynamo_account(fields, version=3))
    for item in DYNAMO_ORDERS:
        dynamodb.put_item(TableName=tables.orders, Item=item)
    book = DynamoBook(dynamodb, tables, CASH)
    assert _by_key(book.accounts()) == {BTC: BTC_BEFORE, ETH: ETH_ACCOUNT}
    assert sorted(book.orders(), key=lambda record: record.request.symbol) == ORDERS
    assert book.settle(OrderFilled.model_validate_json(FILL))
    stored = dynamodb.get_item(
        TableName=tables.subaccounts, Key={"strategy": {"S": "sma"}, "account": {"S": "binance|BTC/USDT"}}
    )
    assert stored["Item"] == _dynamo_account(BTC_AFTER, version=4)
    order = dynamodb.get_item(TableName=tables.orders, Key={"order_id": {"S": BUY_ID}})["Item"]
    assert order == {**DYNAMO_ORDERS[0], "settlement_type": {"S": "OrderFilled"}, "settlement": {"S": FILL}}
