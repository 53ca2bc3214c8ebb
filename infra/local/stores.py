"""The stores a runtime needs, in memory (tests, benchmarks) or in one SQLite file (the default)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from consumers.stores.memory import MemoryBarStore, MemoryBook, MemoryKillSwitch, MemoryProcessedIds
from consumers.stores.ports import Stores
from consumers.stores.sqlite import SqliteState


def memory_stores(starting_cash: Decimal, retention_bars: int) -> Stores:
    book = MemoryBook(starting_cash)
    return Stores(
        bars=MemoryBarStore(retention_bars),
        book=book,
        processed=MemoryProcessedIds(),
        kill_switch=MemoryKillSwitch(),
        commit=lambda: None,
        close=lambda: None,
        orders=book.records,
    )


def sqlite_stores(path: Path, starting_cash: Decimal, retention_bars: int) -> Stores:
    state = SqliteState(path, starting_cash, retention_bars)
    return Stores(
        bars=state.bars,
        book=state.book,
        processed=state.processed,
        kill_switch=state.kill_switch,
        commit=state.commit,
        close=state.close,
        orders=state.book.records,
    )
