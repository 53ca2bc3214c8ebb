"""The streamer's counters saved in the state file (tables `stream_health`, `stream_totals`), so a dashboard in
another process sees the last bar, lag, backfills, reconnects and malformed messages of a running `stds run`."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from producers.streamer.supervisor import StreamerHealth

SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_health (
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL,
    last_open_time_ms INTEGER NOT NULL, lag_bars INTEGER NOT NULL, backfilled INTEGER NOT NULL,
    seconds_since_publish REAL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (exchange, symbol, timeframe)
);
CREATE TABLE IF NOT EXISTS stream_totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
TOTALS = ("published", "backfilled", "malformed", "reconnects", "updated_ms")


class StreamHealthTable:
    """Its own connection to the state file: writes are one small transaction, at most every `every_s`."""

    def __init__(self, path: Path, every_s: float = 1.0) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._connection.executescript(SCHEMA)
        self._every_s = every_s
        self._next = 0.0

    def save(self, health: StreamerHealth, *, force: bool = False) -> None:
        if not force and time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self._every_s
        now_ms = int(time.time() * 1000)
        counts = (health.published, health.backfilled, health.malformed, health.reconnects, now_ms)
        totals = dict(zip(TOTALS, counts, strict=True))
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT OR REPLACE INTO stream_health VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (*s.stream, s.last_open_time_ms, s.lag_bars, s.backfilled, s.seconds_since_publish, now_ms)
                    for s in health.streams
                ],
            )
            connection.executemany("INSERT OR REPLACE INTO stream_totals VALUES (?, ?)", totals.items())
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._connection.close()
