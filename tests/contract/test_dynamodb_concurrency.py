"""Concurrent Lambdas on one account (DynamoDB Local): each decision and each order id applies once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.stores.dynamodb import DynamoBarStore, DynamoBook, TableNames
from consumers.stores.ports import AccountKey, Decision, StreamKey
from tests.conftest import spot_day_bars
from tests.factories import filled, order_requested

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


def test_bars_expire_counting_from_when_they_were_written(dynamodb: Any, tables: TableNames) -> None:
    """A replay of 2023 bars must not write items whose TTL has already passed (DynamoDB deletes them)."""
    bar = spot_day_bars(limit=1)[0]
    DynamoBarStore(dynamodb, tables.bars).add(bar)
    (item,) = dynamodb.scan(TableName=tables.bars)["Items"]
    assert int(item["expires_at"]["N"]) > time.time() + 24 * 3600


class CountingClient:
    """The real DynamoDB Local client, counting the open-time spans the bar store queries."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.spans: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self.real.get_paginator(operation)
        spans = self.spans

        class Counting:
            def paginate(self, **kwargs: Any) -> Any:
                values = kwargs["ExpressionAttributeValues"]
                spans.append((int(values[":b"]["N"]) - int(values[":a"]["N"])) // 60_000 + 1)
                return paginator.paginate(**kwargs)

        return Counting()


def test_a_warm_store_queries_only_the_bars_it_does_not_know(dynamodb: Any, tables: TableNames) -> None:
    bars = spot_day_bars(limit=100)
    other_lambda = DynamoBarStore(dynamodb, tables.bars)
    for bar in bars[:40]:
        other_lambda.add(bar)
    counting = CountingClient(dynamodb)
    store = DynamoBarStore(counting, tables.bars)
    stream = StreamKey("binance", "BTC/USDT", "1m")
    window = store.window(stream, bars[39].open_time_ms, 30)  # cold: one query for the whole window
    assert window is not None and list(window.bars) == bars[10:40] and counting.spans == [30]
    for n in range(40, 100):  # what the strategy consumer does per bar: add, its window, probe the next
        store.add(bars[n])
        assert store.window(stream, bars[n].open_time_ms, 30) is not None
        assert store.window(stream, bars[n].open_time_ms + 60_000, 30) is None
    assert counting.spans[1:] == [1] * 60  # one single-bar probe per bar, not 30 bars
    late = DynamoBarStore(dynamodb, tables.bars)
    assert late.window(stream, bars[99].open_time_ms, 30) is not None  # what one Lambda wrote, another reads
