"""The set of stores a runtime needs, in memory (tests, benchmarks) or in one SQLite file (the default)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from consumers.stores.memory import MemoryBarStore, MemoryBook, MemoryKillSwitch, MemoryProcessedIds
from consumers.stores.ports import BarStore, Book, KillSwitch, OrderRecord, ProcessedIds
from consumers.stores.sqlite import SqliteState


@dataclass(frozen=True)
class Stores:
    bars: BarStore
    book: Book
    processed: ProcessedIds
    kill_switch: KillSwitch
    commit: Callable[[], None]  # a consistent point: everything routed so far is fully applied
    close: Callable[[], None]
    orders: Callable[[], list[OrderRecord]]  # every order the state holds, for reports


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
