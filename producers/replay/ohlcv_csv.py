"""ccxt-style OHLCV CSVs: `timestamp,open,high,low,close,volume`, timestamp in ms or 'YYYY-MM-DD HH:MM:SS' UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.lines import csv_rows
from producers.replay.rows import InvalidBarRow, StreamInfo, checked_bar, to_ms

COLUMNS = 6


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
    if len(text) == 19 and text[10] == " " and text[13] == ":" and text[16] == ":":
        # 'YYYY-MM-DD HH:MM:SS', a row a minute: the date is parsed once per day, the time by arithmetic
        clock = text[11:13], text[14:16], text[17:19]
        if all(part.isdigit() for part in clock):
            hours, minutes, seconds = map(int, clock)
            day_ms = _day_ms(text[:10])
            if day_ms is not None and hours < 24 and minutes < 60 and seconds < 60:
                return day_ms + ((hours * 60 + minutes) * 60 + seconds) * 1000
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidBarRow(f"timestamp {text!r} is neither epoch ms nor 'YYYY-MM-DD HH:MM:SS'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@lru_cache(maxsize=64)
def _day_ms(date: str) -> int | None:
    try:
        return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None  # left to the full parse, which names the problem
