"""Binance public-data kline CSVs (data.binance.vision): 12 columns, ms or µs timestamps, header optional."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from operator import add
from pathlib import Path

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.lines import csv_columns, csv_fields, csv_runs
from producers.replay.rows import MICROSECONDS, InvalidBarRow, RowBars, StreamInfo, to_ms
from producers.replay.sequencing import StreamOrder, ordered_bars

COLUMNS = 12


def read_binance_klines(
    path: Path, stream: StreamInfo, dead_letters: DeadLetters, order: StreamOrder
) -> Iterator[BarClosed]:
    """The bars of the file's good rows in time order; bad rows go to `dead_letters` with their file:line."""
    rows = KlineRows(stream)
    return ordered_bars(csv_runs(path, dead_letters), rows.run_bars, rows.bar, f"{path}:", order, dead_letters)


class KlineRows:
    __slots__ = ("_bars", "_stream")

    def __init__(self, stream: StreamInfo) -> None:
        self._stream = stream
        self._bars = RowBars(stream)

    def bar(self, text: str) -> BarClosed:
        row = text.split(",") if '"' not in text else csv_fields(text)
        if len(row) != COLUMNS:
            raise InvalidBarRow(f"expected {COLUMNS} columns, found {len(row)}")
        open_time_ms = to_ms(row[0])
        close_time_ms = to_ms(row[6])
        stream = self._stream
        if close_time_ms != open_time_ms + stream.interval_ms - 1:
            raise InvalidBarRow(f"close_time {row[6]} does not end the {stream.timeframe} bar opened at {row[0]}")
        return self._bars.bar(open_time_ms, (row[1], row[2], row[3], row[4], row[5]), row[7], row[8])

    def run_bars(self, texts: list[str]) -> list[BarClosed] | None:
        """`RowBars.run_bars` of these rows, or None when one of them needs a closer look."""
        columns = csv_columns(texts, COLUMNS)
        if columns is None:
            return None
        try:
            open_times_ms, close_times_ms = list(map(int, columns[0])), list(map(int, columns[6]))
        except ValueError:
            return None
        last_ms = self._stream.interval_ms - 1
        if max(open_times_ms) >= MICROSECONDS or close_times_ms != list(map(add, open_times_ms, repeat(last_ms))):
            return None  # µs or a close time that is not the bar's end: row by row (`to_ms` and its words)
        return self._bars.run_bars(open_times_ms, columns[1:6], columns[7], columns[8])
