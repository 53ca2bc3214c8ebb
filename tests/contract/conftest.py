"""The store adapters every contract test runs over: memory, SQLite and DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from consumers.stores.ports import Stores
from infra.aws.stores import dynamodb_stores
from infra.local.stores import memory_stores, sqlite_stores

CASH = Decimal(100_000)


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "dynamodb":  # DynamoDB Local, started for this test worker
        made = dynamodb_stores(request.getfixturevalue("dynamodb"), request.getfixturevalue("tables"), CASH)
    elif request.param == "sqlite":
        made = sqlite_stores(tmp_path / "s.sqlite", CASH, 50)
    else:
        made = memory_stores(CASH, 50)
    yield made
    made.close()
