"""Binance public-data kline CSVs (data.binance.vision): 12 columns, ms or µs timestamps, header optional."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.lines import csv_rows
from producers.replay.rows import InvalidBarRow, StreamInfo, checked_bar, to_ms

COLUMNS = 12


def read_binance_klines(path: Path, stream: StreamInfo, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    """Yield (origin, bar) per good row; bad rows go to `dead_letters` with their file:line."""
    for origin, text, row in csv_rows(path, dead_letters):
        try:
            if len(row) != COLUMNS:
                raise InvalidBarRow(f"expected {COLUMNS} columns, found {len(row)}")
            open_time_ms = to_ms(row[0])
            close_time_ms = to_ms(row[6])
            if close_time_ms != open_time_ms + stream.interval_ms - 1:
                raise InvalidBarRow(f"close_time {row[6]} does not end the {stream.timeframe} bar opened at {row[0]}")
            bar = checked_bar(stream, open_time_ms, (row[1], row[2], row[3], row[4], row[5]), row[7], row[8])
        except InvalidBarRow as error:
            dead_letters.put(origin, str(error), text)
            continue
        yield origin, bar
