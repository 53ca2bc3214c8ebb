"""The dashboard's reader of a state file written by `stds run` or `stds replay`, safe beside the running writer:
SQLite's WAL lets it read committed state while the run goes on, and only the kill switch is ever written."""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from consumers.stores.ports import Account, OrderRecord
from consumers.stores.sqlite import SqliteKillSwitch, being_written, open_existing, order_from_row, read_accounts
from events.dead_letters import DEAD_LETTERS_FILE
from events.streams import StreamKey
from infra.dashboard.source import Closes, Fill, StreamHealth, StreamSpan
from infra.local.stream_health import TOTALS


class SqliteReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = open_existing(path)  # refuses a missing file, or a database that is not a state file
        self._kill_switch = SqliteKillSwitch(self._connection)
        self._data_version: int | None = None
        self._fills: dict[str, Fill] = {}
        self._in_bar_order: list[Fill] = []
        self._targets: dict[tuple[str, str], dict[str, tuple[str, int, Decimal]]] = {}  # market → order id → target
        self._through_rowid = 0

    @property
    def kill_switch(self) -> SqliteKillSwitch:
        return self._kill_switch

    def accounts(self) -> list[Account]:
        return read_accounts(self._connection)

    def fills(self) -> list[Fill]:
        self._catch_up()
        return self._in_bar_order

    def latest_orders(self, limit: int, settlement: str | None = None) -> list[OrderRecord]:
        where = "WHERE settlement_type = ?" if settlement else ""
        rows = self._connection.execute(
            f"SELECT * FROM orders {where} ORDER BY rowid DESC LIMIT ?", (settlement, limit) if settlement else (limit,)
        ).fetchall()
        return [order_from_row(row) for row in rows]

    def targets(self, exchange: str, symbol: str) -> list[tuple[str, int, Decimal]]:
        self._catch_up()
        return [
            (strategy, time_ms, target)
            for strategy, time_ms, target in self._targets.get((exchange, symbol), {}).values()
        ]

    def _catch_up(self) -> None:
        """Reads only the order rows written since the last look: a row is rewritten when its order settles and
        then never again, and each write takes a new, higher rowid. The fields come out of the JSON in SQLite
        (not through pydantic), so a first look at a month of orders stays well under a second."""
        (top,) = self._connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM orders").fetchone()
        if top < self._through_rowid:  # the state was started afresh under the same name
            self._fills, self._targets, self._through_rowid = {}, {}, 0
        if top == self._through_rowid:
            return
        rows = self._connection.execute(
            "SELECT order_id, request ->> 'strategy', request ->> 'exchange', request ->> 'symbol', "
            "request ->> 'bar_open_time_ms', request ->> 'target', settlement_type, "
            "settlement ->> 'side', settlement ->> 'qty', settlement ->> 'price', settlement ->> 'fee', "
            "settlement ->> 'fee_base', settlement -> 'fee_other' "
            "FROM orders WHERE rowid > ? AND rowid <= ?",
            (self._through_rowid, top),
        ).fetchall()
        filled = False
        for order_id, strategy, exchange, symbol, bar_ms, target, kind, side, qty, price, fee, fee_base, other in rows:
            self._targets.setdefault((exchange, symbol), {})[order_id] = (strategy, bar_ms, Decimal(target))
            if kind == "OrderFilled":
                self._fills[order_id] = Fill.of_values(
                    order_id=order_id,
                    strategy=strategy,
                    exchange=exchange,
                    symbol=symbol,
                    side=side,
                    qty=Decimal(qty),
                    bar_open_time_ms=bar_ms,
                    price=Decimal(price),
                    fee=Decimal(fee),
                    fee_base=Decimal(fee_base or 0),  # files from before base-asset commissions have none
                    fee_other={asset: Decimal(amount) for asset, amount in orjson.loads(other or "{}").items()},
                )
                filled = True
        if filled:
            self._in_bar_order = sorted(self._fills.values(), key=lambda fill: fill.bar_open_time_ms)
        self._through_rowid = top

    def streams(self) -> dict[StreamKey, StreamSpan]:
        """Walks the primary key from stream to stream (a skip scan), so this costs a few index seeks per
        stream instead of a pass over every bar."""
        connection, spans = self._connection, {}
        row = connection.execute("SELECT exchange, symbol, timeframe FROM bars ORDER BY 1, 2, 3 LIMIT 1").fetchone()
        while row is not None:
            stream = StreamKey(*row)
            # two queries: SQLite answers a lone MIN or MAX from the key in one seek, both together by a scan
            (first,) = connection.execute(
                "SELECT MIN(open_time_ms) FROM bars WHERE exchange = ? AND symbol = ? AND timeframe = ?", stream
            ).fetchone()
            (last,) = connection.execute(
                "SELECT MAX(open_time_ms) FROM bars WHERE exchange = ? AND symbol = ? AND timeframe = ?", stream
            ).fetchone()
            (close,) = connection.execute(
                "SELECT json_extract(bar, '$.close') FROM bars "
                "WHERE exchange = ? AND symbol = ? AND timeframe = ? AND open_time_ms = ?",
                (*stream, last),
            ).fetchone()
            spans[stream] = StreamSpan(int(first), int(last), Decimal(str(close)))
            row = connection.execute(  # the next stream: the first key after this stream's last bar
                "SELECT exchange, symbol, timeframe FROM bars "
                "WHERE (exchange, symbol, timeframe, open_time_ms) > (?, ?, ?, ?) "
                "ORDER BY exchange, symbol, timeframe, open_time_ms LIMIT 1",
                (*stream, last),
            ).fetchone()
        return spans

    def closes(self, stream: StreamKey, start_ms: int, end_ms: int, bucket_ms: int) -> Closes:
        """One key seek per bucket for its newest bar, then one lookup of that bar's close: the cost follows
        the points drawn, not the bars stored (a month of minutes in 1,000 points: about 30 ms a stream)."""
        rows = self._connection.execute(
            "WITH RECURSIVE buckets(start) AS (SELECT ? UNION ALL SELECT start + ? FROM buckets WHERE start + ? <= ?) "
            "SELECT last, (SELECT bar ->> 'close' FROM bars "
            "              WHERE exchange = ? AND symbol = ? AND timeframe = ? AND open_time_ms = last) "
            "FROM (SELECT (SELECT MAX(open_time_ms) FROM bars WHERE exchange = ? AND symbol = ? AND timeframe = ? "
            "              AND open_time_ms BETWEEN start AND MIN(start + ? - 1, ?)) AS last FROM buckets) "
            "WHERE last IS NOT NULL",
            (start_ms, bucket_ms, bucket_ms, end_ms, *stream, *stream, bucket_ms, end_ms),
        ).fetchall()
        return Closes([int(time_ms) for time_ms, _ in rows], [float(close) for _, close in rows])

    def health(self) -> StreamHealth:
        connection = self._connection
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'stream_totals'").fetchone():
            return StreamHealth()  # a replay's state, or a run that has not saved its first health yet
        streams = [
            {
                "exchange": exchange,
                "symbol": symbol,
                "timeframe": timeframe,
                "last_open_time_ms": last,
                "lag_bars": lag,
                "backfilled": backfilled,
                "seconds_since_publish": silent,
            }
            for exchange, symbol, timeframe, last, lag, backfilled, silent, _ in connection.execute(
                "SELECT * FROM stream_health ORDER BY exchange, symbol, timeframe"
            )
        ]
        totals = {name: int(value) for name, value in connection.execute("SELECT name, value FROM stream_totals")}
        updated = totals.pop("updated_ms", None)
        return StreamHealth(streams, {name: totals.get(name, 0) for name in TOTALS if name != "updated_ms"}, updated)

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        path = self.path.parent / DEAD_LETTERS_FILE
        if not path.is_file():
            return []
        with path.open("rb") as handle:
            newest = deque(handle, maxlen=limit)
        letters = []
        for line in reversed(newest):
            try:
                letters.append(orjson.loads(line))
            except orjson.JSONDecodeError:  # a line being appended right now: shown on the next refresh
                continue
        return letters

    def live(self) -> bool:
        return being_written(self.path)

    def changed(self) -> bool:
        """`PRAGMA data_version` moves when another connection commits; own writes (halt) are pushed directly."""
        (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        moved = bool(version != self._data_version)
        self._data_version = int(version)
        return moved

    def close(self) -> None:
        self._connection.close()
