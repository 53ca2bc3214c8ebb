"""The stores a handler needs, in DynamoDB (tables named by a prefix, e.g. `stds-prod-`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from consumers.stores.dynamodb import (
    DynamoBarStore,
    DynamoBook,
    DynamoKillSwitch,
    DynamoProcessedIds,
    DynamoReconciliationLog,
    TableNames,
)
from consumers.stores.ports import Stores


def dynamodb_stores(client: Any, names: TableNames, starting_cash: Decimal) -> Stores:
    """Every write is durable when it returns, so `commit` has nothing left to do."""
    book = DynamoBook(client, names, starting_cash)
    return Stores(
        bars=DynamoBarStore(client, names.bars),
        book=book,
        processed=DynamoProcessedIds(client, names.processed),
        kill_switch=DynamoKillSwitch(client, names.control),
        commit=lambda: None,
        close=lambda: None,
        orders=book.records,
        reconciliations=DynamoReconciliationLog(client, names.control),
    )
