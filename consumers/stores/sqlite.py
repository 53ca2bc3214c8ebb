"""The embedded default: one SQLite file holding bars, the book, processed ids and the kill switch.

State lives in the memory stores and is written behind in one transaction per `commit()`: a
process killed between commits restarts from the last commit, and because every id is
deterministic, re-processing the same bars repeats the same decisions without doubling anything.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO

import orjson

from consumers.stores.memory import (
    DEFAULT_RETENTION_BARS,
    MemoryBarStore,
    MemoryBook,
    MemoryProcessedIds,
)
from consumers.stores.ports import Account, KillSwitch, KillSwitchState, OrderRecord
from consumers.stores.records import (
    ACCOUNT_FIELDS,
    account_fields,
    account_from_fields,
    kill_switch_fields,
    kill_switch_from_fields,
    order_fields,
    order_from_fields,
)
from consumers.strategies.window import Window
from events.models import BarClosed
from events.streams import StreamKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL, open_time_ms INTEGER NOT NULL,
    bar TEXT NOT NULL,
    PRIMARY KEY (exchange, symbol, timeframe, open_time_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
    strategy TEXT NOT NULL, exchange TEXT NOT NULL, symbol TEXT NOT NULL,
    cash TEXT NOT NULL, position TEXT NOT NULL, pending TEXT NOT NULL, fees TEXT NOT NULL,
    target TEXT NOT NULL, decided_through_ms INTEGER, fills INTEGER NOT NULL, rejects INTEGER NOT NULL,
    refused_target TEXT, fee_assets TEXT,
    PRIMARY KEY (strategy, exchange, symbol)
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, request TEXT NOT NULL, settlement_type TEXT, settlement TEXT
);
CREATE TABLE IF NOT EXISTS processed (
    consumer TEXT NOT NULL, event_id TEXT NOT NULL, UNIQUE (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS control (name TEXT PRIMARY KEY, value TEXT);
"""


# "STDS" in PRAGMA application_id marks a file as ours, so no command writes into someone else's database.
APPLICATION_ID = 0x53544453
STATE_FILES = ("", "-wal", "-shm")
BARS_PER_INSERT = 200  # 1,000 variables a statement, far below SQLite's limit (32,766), and the fastest size measured


class StateFileError(ValueError):
    """A state file that cannot be used as asked; the message says which file and what to do."""


class StateLocked(StateFileError):
    """Another process is running on this state file."""


class NotAStateFile(StateFileError):
    """The file exists but is not an stds state file (someone else's database, or not SQLite at all)."""


class SqliteBarStore:
    """The memory store, with the bars it took since the last commit kept for writing."""

    def __init__(self, memory: MemoryBarStore) -> None:
        self.memory = memory
        self.unsaved: list[BarClosed] = []
        # reads are the memory store's own methods: no frame of this class on the per-bar path
        self.window: Callable[[StreamKey, int, int], Window | None] = memory.window
        self.first_complete_window: Callable[[StreamKey, int, int, int], int | None] = memory.first_complete_window
        self.newest_open_ms: Callable[[StreamKey], int | None] = memory.newest_open_ms

    def add(self, bar: BarClosed) -> bool:
        added = self.memory.add(bar)
        if added:
            self.unsaved.append(bar)
        return added


class SqliteKillSwitch:
    """Read from the file on every check: what `stds halt`, `stds holdings` and the dashboard use."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def engaged(self) -> KillSwitchState | None:
        row = self._connection.execute("SELECT value FROM control WHERE name = 'kill_switch'").fetchone()
        return None if row is None else _kill_switch_from_value(row[0])

    def engage(self, state: KillSwitchState) -> None:
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO control (name, value) VALUES ('kill_switch', ?)", (_kill_switch_value(state),)
            )

    def release(self) -> None:
        with self._connection:
            self._connection.execute("DELETE FROM control WHERE name = 'kill_switch'")

    def settle_flatten(self, flatten: KillSwitchState, reason: str) -> bool:
        halted = KillSwitchState("halt", reason, flatten.engagement)
        with self._connection:
            changed = self._connection.execute(
                "UPDATE control SET value = ? WHERE name = 'kill_switch' AND value = ?",
                (_kill_switch_value(halted), _kill_switch_value(flatten)),
            ).rowcount
        return changed == 1


class KillSwitchReadPerCommit:
    """A running state's switch: read from the file at the first check after each commit or each write of its own,
    and remembered in between. A replay checks the switch at every minute, and a SELECT there was a fifth of the
    run; an engagement from another process (`stds halt`, the dashboard) is seen after the runtime's next commit:
    before the next minute's bars in a live run (it commits every 0.2 s), within a second in a replay."""

    def __init__(self, switch: KillSwitch) -> None:
        self._switch = switch
        self._state: KillSwitchState | None = None
        self._known = False

    def engaged(self) -> KillSwitchState | None:
        if not self._known:
            self._state, self._known = self._switch.engaged(), True
        return self._state

    def engage(self, state: KillSwitchState) -> None:
        self._known = False
        self._switch.engage(state)

    def release(self) -> None:
        self._known = False
        self._switch.release()

    def settle_flatten(self, flatten: KillSwitchState, reason: str) -> bool:
        self._known = False
        return self._switch.settle_flatten(flatten, reason)

    def forget(self) -> None:
        """Read the file again at the next check (a commit: whatever another process wrote is due)."""
        self._known = False


def _kill_switch_value(state: KillSwitchState) -> str:
    return orjson.dumps(kill_switch_fields(state)).decode()


def _kill_switch_from_value(value: str) -> KillSwitchState:
    """A JSON object; a switch engaged before modes existed holds its bare reason."""
    fields = orjson.loads(value) if value.startswith("{") else {"reason": value}
    return kill_switch_from_fields(fields)


class SqliteReconciliationLog:
    """The last reconciliation, as one row of the control table (written at once, like the kill switch)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def save(self, document: str) -> None:
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO control (name, value) VALUES ('reconciliation', ?)", (document,)
            )

    def last(self) -> str | None:
        row = self._connection.execute("SELECT value FROM control WHERE name = 'reconciliation'").fetchone()
        return str(row[0]) if row else None


class SqliteState:
    """Opens (creating if needed) the state file, loads it, and persists changes on `commit()`."""

    def __init__(
        self,
        path: Path,
        starting_cash: Decimal,
        retention_bars: int = DEFAULT_RETENTION_BARS,
        *,
        lock: bool = True,
        fresh: bool = False,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # the lock comes first: nothing of a running process's state is read, changed or deleted without it
        lock_existed = Path(f"{path}.lock").exists()
        self._lock_file = _lock(path) if lock else None
        try:
            if fresh and state_exists(path):
                _connect(path, create=False).close()  # discard a state, never someone's CSV or database
                for suffix in STATE_FILES:
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            self._connection = _connect(path, create=True)
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(SCHEMA)
            _add_fee_assets_column(self._connection)
        except BaseException:
            self._unlock(remove=not lock_existed)  # a refused file is left as it was found, with no lock beside it
            raise
        self.bars = SqliteBarStore(MemoryBarStore(retention_bars))
        self.book = MemoryBook(starting_cash, track_changes=True)
        self.processed = MemoryProcessedIds(track_changes=True)
        self.kill_switch = KillSwitchReadPerCommit(SqliteKillSwitch(self._connection))
        self.reconciliations = SqliteReconciliationLog(self._connection)
        self._load()

    def commit(self) -> None:
        """Write every change since the last commit in one transaction; the kill switch is read again after it."""
        self.kill_switch.forget()
        book, connection = self.book, self._connection
        bars, self.bars.unsaved = self.bars.unsaved, []
        accounts = [book.account(key) for key in book.changed_accounts]
        orders = [record for order_id in book.changed_orders if (record := book.order(order_id))]
        processed, self.processed.changed = self.processed.changed, []
        book.changed_accounts, book.changed_orders = set(), set()
        if not (bars or accounts or orders or processed):
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            _insert_bars(connection, bars)
            connection.executemany(
                "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_account_row(account) for account in accounts],
            )
            connection.executemany(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)", [_order_row(record) for record in orders]
            )
            connection.executemany("INSERT OR IGNORE INTO processed VALUES (?, ?)", processed)
            if processed:  # keep what memory keeps: the newest deliveries (rowid order is arrival order)
                connection.execute(
                    "DELETE FROM processed WHERE rowid <= (SELECT MAX(rowid) FROM processed) - ?",
                    (self.processed.capacity,),
                )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite has already rolled back on some errors (a full disk)
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        try:
            self.commit()
            self._connection.close()
        finally:
            self._unlock()

    def setting(self, name: str) -> str | None:
        """A value kept in the control table (the kill switch, the configuration a run was started with)."""
        row = self._connection.execute("SELECT value FROM control WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def keep_setting(self, name: str, value: str) -> None:
        with self._connection:
            self._connection.execute("INSERT OR REPLACE INTO control (name, value) VALUES (?, ?)", (name, value))

    def _unlock(self, *, remove: bool = False) -> None:
        if self._lock_file is not None:
            if remove:  # still holding the lock, so no other process is using this lock file
                Path(self._lock_file.name).unlink(missing_ok=True)
            else:
                self._lock_file.truncate(0)  # no pid left behind: nobody is writing this state any more
            self._lock_file.close()
            self._lock_file = None

    def _load(self) -> None:
        connection = self._connection
        accounts = read_accounts(connection)
        orders = [order_from_row(row) for row in connection.execute("SELECT * FROM orders")]
        self.book.load(accounts, orders)
        retention = self.bars.memory.retention_bars
        streams = connection.execute("SELECT DISTINCT exchange, symbol, timeframe FROM bars").fetchall()
        for exchange, symbol, timeframe in streams:
            rows = connection.execute(
                "SELECT bar FROM bars WHERE exchange = ? AND symbol = ? AND timeframe = ? "
                "ORDER BY open_time_ms DESC LIMIT ?",
                (exchange, symbol, timeframe, retention),
            ).fetchall()
            for (document,) in reversed(rows):
                self.bars.memory.add(BarClosed.model_validate_json(document))
        for consumer, event_id in connection.execute("SELECT consumer, event_id FROM processed ORDER BY rowid"):
            self.processed.mark(consumer, event_id)
        self.processed.changed = []


def _insert_bars(connection: sqlite3.Connection, bars: list[BarClosed]) -> None:
    # rows go in by hundreds per INSERT: executemany's per-row step and reset cost a third of SQLite's work
    for start in range(0, len(bars), BARS_PER_INSERT):
        chunk = bars[start : start + BARS_PER_INSERT]
        values = [
            value
            for bar in chunk
            for value in (bar.exchange, bar.symbol, bar.timeframe, bar.open_time_ms, bar_json(bar))
        ]
        connection.execute(f"INSERT OR IGNORE INTO bars VALUES {', '.join(['(?, ?, ?, ?, ?)'] * len(chunk))}", values)


def bar_json(bar: BarClosed) -> str:
    """`bar.model_dump_json()`, three times faster: a replay writes every bar (a bar's fields are
    strings, ints, a bool and Decimals, which the model serialises as their str)."""
    return orjson.dumps(bar.__dict__, default=str).decode()


def read_closes(path: Path, timeframe: str) -> dict[tuple[str, str], list[tuple[int, Decimal]]]:
    """Each market's (open_time_ms, close) of `timeframe`, in time order, as the state file holds them: what a
    resumed live run marks its book with for the bars before its restart."""
    if not state_exists(path):
        return {}
    connection = _connect(path, create=False)
    try:
        rows = connection.execute(
            "SELECT exchange, symbol, open_time_ms, bar ->> 'close' FROM bars WHERE timeframe = ? "
            "ORDER BY exchange, symbol, open_time_ms",
            (timeframe,),
        ).fetchall()
    finally:
        connection.close()
    closes: dict[tuple[str, str], list[tuple[int, Decimal]]] = {}
    for exchange, symbol, open_time_ms, close in rows:
        closes.setdefault((exchange, symbol), []).append((open_time_ms, Decimal(close)))
    return closes


def read_accounts(connection: sqlite3.Connection) -> list[Account]:
    return [_account_from_row(row) for row in connection.execute("SELECT * FROM accounts")]


def open_existing(path: Path) -> sqlite3.Connection:
    """An existing state file, for commands that inspect or flip it while a run may hold it (`stds
    holdings`, `halt`, `resume`): never created, never given tables, and refused if it is not ours."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no state file here (a replay or run creates OUT/state.sqlite)")
    return _connect(path, create=False)


def state_exists(path: Path) -> bool:
    """Whether `path` holds state of an earlier run (an empty or absent file holds none)."""
    return path.is_file() and path.stat().st_size > 0


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    connection = sqlite3.connect(
        f"file:{path}?mode={mode}", uri=True, isolation_level=None, check_same_thread=False, timeout=10
    )
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        if application_id != APPLICATION_ID:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and not {"accounts", "orders", "control"} <= tables:
                raise NotAStateFile(
                    f"{path} is an SQLite database of something else (tables {', '.join(sorted(tables))}), not an "
                    "stds state file: point --db at OUT/state.sqlite of a replay or run"
                )
            if not tables and not create:
                raise NotAStateFile(f"{path} is an empty database, not an stds state file")
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as error:
        connection.close()
        raise NotAStateFile(
            f"{path} is not an stds state file ({error}): point --db at OUT/state.sqlite of a replay or run, "
            "or at a new file"
        ) from None
    except BaseException:
        connection.close()
        raise
    return connection


def _lock(path: Path) -> IO[str]:
    # opened without truncating: the pid inside belongs to whoever holds the lock until we get it
    lock_file = open(f"{path}.lock", "a+")  # noqa: SIM115 (held open for the life of the state)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise StateLocked(
            f"{path} is in use by another stds process (pid {_holder(lock_file.name)}); stop it first, "
            "or use another --out/--db"
        ) from None
    lock_file.truncate(0)
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


def being_written(path: Path) -> bool:
    """Whether a running process holds the state's lock (a run or a replay writing it), asked without taking the
    lock, so asking can never stop one from starting: the holder's pid is in the lock file until it lets go, and
    one that died without letting go is no longer running."""
    holder = _holder(f"{path}.lock")
    if not holder.isdigit():
        return False
    try:
        os.kill(int(holder), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    return True


def _holder(lock_path: str) -> str:
    try:
        return Path(lock_path).read_text().strip() or "?"
    except OSError:
        return "?"


def _account_row(account: Account) -> tuple[object, ...]:
    fields = account_fields(account)
    paid = fields["fee_assets"]
    fields["fee_assets"] = orjson.dumps(paid).decode() if paid else None  # a JSON object of decimal strings
    return tuple(fields.values())


def _account_from_row(row: tuple[object, ...]) -> Account:
    # a file `stds holdings` reads as it is, from before fee_assets, has one column less
    fields = dict(zip(ACCOUNT_FIELDS, row, strict=False))
    paid = fields.get("fee_assets")
    return account_from_fields({**fields, "fee_assets": orjson.loads(str(paid)) if paid else None})


def _add_fee_assets_column(connection: sqlite3.Connection) -> None:
    """State files written before third-asset fees were booked lack the column: add it, empty."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(accounts)")}
    if "fee_assets" not in columns:
        connection.execute("ALTER TABLE accounts ADD COLUMN fee_assets TEXT")


def _order_row(record: OrderRecord) -> tuple[object, ...]:
    return order_fields(record)


def order_from_row(row: tuple[object, ...]) -> OrderRecord:
    order_id, request, settlement_type, settlement = row
    settled = None if settlement_type is None else (str(settlement_type), str(settlement))
    return order_from_fields(str(request), settled, f"orders/{order_id}")
