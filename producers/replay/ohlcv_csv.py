"""ccxt-style OHLCV CSVs: `timestamp,open,high,low,close,volume`, timestamp in ms or 'YYYY-MM-DD HH:MM:SS' UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.lines import csv_rows
from producers.replay.rows import InvalidBarRow, StreamInfo, checked_bar, to_ms

COLUMNS = 6
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_MS = timedelta(milliseconds=1)


def read_ohlcv(path: Path, stream: StreamInfo, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    for origin, text, row in csv_rows(path, dead_letters):
        try:
            if len(row) != COLUMNS:
                raise InvalidBarRow(f"expected {COLUMNS} columns, found {len(row)}")
            bar = checked_bar(stream, parse_timestamp(row[0]), (row[1], row[2], row[3], row[4], row[5]))
        except InvalidBarRow as error:
            dead_letters.put(origin, str(error), text)
            continue
        yield origin, bar


def parse_timestamp(text: str) -> int:
    """Epoch ms (or µs), or a zone-less date-time read as UTC (how ccxt users usually write them)."""
    text = text.strip()
    if text.isdigit():
        return to_ms(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidBarRow(f"timestamp {text!r} is neither epoch ms nor 'YYYY-MM-DD HH:MM:SS'") from None
    if moment.tzinfo is None:  # UTC: counted from the epoch in whole ms, no float on the way
        return (moment - NAIVE_EPOCH) // ONE_MS
    return int(moment.timestamp() * 1000)
