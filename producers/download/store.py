"""The downloaded month files: `<out>/<exchange>/<timeframe>/<MARKET>/<MARKET>-<timeframe>-<YYYY-MM>.parquet`.

Each holds the month's bars and the spans of time already asked of the exchange, so a later run asks only for
the rest. A file is replaced whole (written beside it, synced, renamed): a run killed at any instant leaves the
previous file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from events.models import BarClosed
from producers.download.spans import Span, merged, month_label
from producers.replay import parquet_bars
from producers.replay.parquet_bars import Row, bar_row

PARTIAL = ".part"


@dataclass(frozen=True)
class StreamFiles:
    """Where one stream's month files live."""

    out: Path
    exchange: str
    symbol: str  # unified, BTC/USDT
    market: str  # the exchange's id, BTCUSDT
    timeframe: str

    @property
    def folder(self) -> Path:
        return self.out / self.exchange / self.timeframe / self.market

    def path(self, month_start_ms: int) -> Path:
        return self.folder / f"{self.market}-{self.timeframe}-{month_label(month_start_ms)}{parquet_bars.SUFFIX}"

    def covered(self, month_start_ms: int) -> list[Span]:
        """The spans of the month already asked for, from the file's footer alone."""
        path = self.path(month_start_ms)
        if not path.exists():
            return []
        return _covered(parquet_bars.file_metadata(path))

    def open_times(self, month_start_ms: int) -> list[int]:
        """The open times of the month's stored bars, in order."""
        path = self.path(month_start_ms)
        if not path.exists():
            return []
        times: list[int] = pq.read_table(path, columns=["open_time"]).column("open_time").to_pylist()
        return times

    def open(self, month_start_ms: int) -> MonthFile:
        path = self.path(month_start_ms)
        leftover = path.with_name(path.name + PARTIAL)
        if leftover.exists():  # a run killed while writing: the file itself is the last whole version
            leftover.unlink()
        if not path.exists():
            return MonthFile(path, self)
        table = pq.read_table(path, columns=list(parquet_bars.COLUMNS))
        columns = [table.column(name).to_pylist() for name in parquet_bars.COLUMNS]
        rows = {row[0]: row for row in zip(*columns, strict=True)}
        return MonthFile(path, self, rows, _covered(parquet_bars.file_metadata(path)))


@dataclass
class MonthFile:
    """One month of one stream: its rows by open time, and the spans already asked for."""

    path: Path
    stream: StreamFiles
    rows: dict[int, Row] = field(default_factory=dict)
    covered: list[Span] = field(default_factory=list)
    changed: bool = False

    def add(self, bars: list[BarClosed], span: Span) -> int:
        """Keep the bars opening in `span` and note the span as asked for; returns how many bars were new."""
        before = len(self.rows)
        for bar in bars:
            if span[0] <= bar.open_time_ms < span[1]:
                self.rows[bar.open_time_ms] = bar_row(bar)
        self.covered = merged([*self.covered, span])
        self.changed = True
        return len(self.rows) - before

    def save(self) -> None:
        """Replace the file with the current rows and spans, atomically; nothing to do when nothing changed."""
        if not self.changed:
            return
        ordered = [self.rows[open_time] for open_time in sorted(self.rows)]
        columns = list(zip(*ordered, strict=True)) if ordered else [()] * len(parquet_bars.COLUMNS)
        metadata = {
            parquet_bars.EXCHANGE: self.stream.exchange.encode(),
            parquet_bars.SYMBOL: self.stream.symbol.encode(),
            parquet_bars.TIMEFRAME: self.stream.timeframe.encode(),
            parquet_bars.COVERED: json.dumps(self.covered).encode(),
        }
        schema = parquet_bars.SCHEMA.with_metadata(metadata)
        table = pa.table([pa.array(column, field.type) for column, field in zip(columns, schema, strict=True)], schema)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + PARTIAL)
        with partial.open("wb") as handle:
            pq.write_table(table, handle, compression="snappy")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)
        self.changed = False


def _covered(metadata: dict[bytes, bytes]) -> list[Span]:
    return merged((int(start), int(end)) for start, end in json.loads(metadata.get(parquet_bars.COVERED, b"[]")))
