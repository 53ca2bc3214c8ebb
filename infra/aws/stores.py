"""The stores a handler needs, in DynamoDB (tables named by a prefix, e.g. `stds-prod-`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from consumers.stores.dynamodb import (
    DynamoBook,
    DynamoKillSwitch,
    DynamoProcessedIds,
    DynamoReconciliationLog,
    TableNames,
)
from consumers.stores.memory import MemoryBarStore
from consumers.stores.ports import BarStore, Stores


def dynamodb_stores(client: Any, names: TableNames, starting_cash: Decimal, bars: BarStore | None = None) -> Stores:
    """Every write is durable when it returns, so `commit` has nothing left to do. Bars are not in DynamoDB:
    a strategy function passes its `ArchivedBars` (memory, restored from the streamer's S3 spans)."""
    book = DynamoBook(client, names, starting_cash)
    return Stores(
        bars=bars if bars is not None else MemoryBarStore(),
        book=book,
        processed=DynamoProcessedIds(client, names.processed),
        kill_switch=DynamoKillSwitch(client, names.control),
        commit=lambda: None,
        close=lambda: None,
        reconciliations=DynamoReconciliationLog(client, names.control),
    )
