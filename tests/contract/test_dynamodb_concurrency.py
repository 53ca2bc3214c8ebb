"""Concurrent Lambdas on one account (DynamoDB Local): each decision and each order id applies once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.stores.dynamodb import DynamoBook, TableNames
from consumers.stores.ports import AccountKey, Decision
from tests.factories import filled, order_requested, rejected

KEY = AccountKey("sma", "binance", "BTC/USDT")
CASH = Decimal(10_000)


def _race(workers: int, work: Callable[[], bool]) -> list[bool]:
    """Run `work` in `workers` threads released at the same instant; their results."""
    start = threading.Barrier(workers)
    results: list[bool] = []

    def run() -> None:
        start.wait()
        results.append(work())

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_deliveries_of_one_decision_apply_it_once(dynamodb: Any, tables: TableNames) -> None:
    book = DynamoBook(dynamodb, tables, CASH)
    order = order_requested(KEY, 0, "0.3")
    results = _race(6, lambda: book.decide(Decision(KEY, 0, Decimal("0.3"), order)))
    assert sorted(results) == [False] * 5 + [True]
    assert book.account(KEY).pending == Decimal("0.3")
    fill = filled(order, price="20000", fee="6")
    results = _race(6, lambda: book.settle(fill))
    assert sorted(results) == [False] * 5 + [True]
    account = book.account(KEY)
    assert (account.position, account.pending, account.fills) == (Decimal("0.3"), 0, 1)
    assert account.cash == CASH - Decimal("6000") - 6


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.decimals("0.001", "2", places=3), min_size=2, max_size=6), copies=st.integers(1, 3))
def test_settlements_of_different_orders_racing_on_one_account_all_count(
    dynamodb: Any, tables: TableNames, sizes: list[Decimal], copies: int
) -> None:
    """Many orders settle at once on the same account (optimistic-lock conflicts): none lost, none doubled."""
    key = AccountKey(f"race-{uuid.uuid4().hex[:8]}", "binance", "BTC/USDT")  # the tables outlive examples
    book = DynamoBook(dynamodb, tables, CASH)
    orders = [order_requested(key, n * 60_000, str(size)) for n, size in enumerate(sizes)]
    for n, order in enumerate(orders):
        assert book.decide(Decision(key, n * 60_000, order.qty, order))
    fills = [filled(order, price="10", fee="0.01") for order in orders for _ in range(copies)]
    pending = iter(fills)
    lock = threading.Lock()

    def settle_next() -> bool:
        with lock:
            fill = next(pending)
        return book.settle(fill)

    results = _race(len(fills), settle_next)
    assert results.count(True) == len(orders)
    account = book.account(key)
    assert account.position == sum(sizes) and account.pending == 0 and account.fills == len(orders)
    assert account.cash == CASH - sum(sizes) * 10 - Decimal("0.01") * len(orders)


def test_a_decision_that_changes_nothing_writes_no_account_and_its_cursor_once_per_batch(
    dynamodb: Any, tables: TableNames
) -> None:
    """On AWS the cursor of a decision with no order and the same target is kept beside the accounts and
    written once per invocation; another invocation then treats that bar as decided (a stale redelivery)."""
    book = DynamoBook(dynamodb, tables, CASH)
    book.begin_decisions("sma")
    assert book.decide(Decision(KEY, 0, Decimal("0.3"), order_requested(KEY, 0, "0.3")))
    for minute in range(1, 5):
        assert book.decide(Decision(KEY, minute * 60_000, Decimal("0.3"), None))
    items = dynamodb.scan(TableName=tables.subaccounts)["Items"]
    assert [int(item["version"]["N"]) for item in items] == [1]  # the account, written once (the order)
    book.end_decisions()
    other_lambda = DynamoBook(dynamodb, tables, CASH)
    other_lambda.begin_decisions("sma")
    assert other_lambda.account(KEY).decided_through_ms == 4 * 60_000
    assert not other_lambda.decide(Decision(KEY, 3 * 60_000, Decimal(0), None))  # stale: decided already
    (account,) = other_lambda.accounts()
    assert account.decided_through_ms == 4 * 60_000 and account.target == Decimal("0.3")


def test_cursors_saved_by_racing_invocations_merge_to_the_furthest(dynamodb: Any, tables: TableNames) -> None:
    keys = [AccountKey("sma", "binance", symbol) for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT")]
    books = []
    for n, key in enumerate(keys):  # three concurrent invocations, each deciding its own chunk of symbols
        book = DynamoBook(dynamodb, tables, CASH)
        book.begin_decisions("sma")
        assert book.decide(Decision(key, (n + 1) * 60_000, Decimal(0), None))
        books.append(book)
    _race(3, lambda: bool(books.pop().save_cursors()))
    reader = DynamoBook(dynamodb, tables, CASH)
    reader.begin_decisions("sma")
    assert [reader.account(key).decided_through_ms for key in keys] == [60_000, 120_000, 180_000]


def test_a_refused_target_released_by_an_unchanged_target_is_written(dynamodb: Any, tables: TableNames) -> None:
    """The target moved on while its order was refused: deciding the same target again releases the refusal,
    which is a change of the account, not only of the cursor."""
    book = DynamoBook(dynamodb, tables, CASH)
    order = order_requested(KEY, 0, "0.3")
    assert book.decide(Decision(KEY, 0, Decimal("0.3"), order))
    assert book.decide(Decision(KEY, 60_000, Decimal("0.5"), None))
    assert book.settle(rejected(order))
    assert book.account(KEY).refused_target == Decimal("0.3")
    assert book.decide(Decision(KEY, 120_000, Decimal("0.5"), None))
    assert DynamoBook(dynamodb, tables, CASH).account(KEY).refused_target is None
