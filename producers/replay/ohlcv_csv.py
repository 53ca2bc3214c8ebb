"""ccxt-style OHLCV CSVs: `timestamp,open,high,low,close,volume`, timestamp in ms or 'YYYY-MM-DD HH:MM:SS' UTC."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.lines import csv_columns, csv_fields, csv_runs
from producers.replay.rows import InvalidBarRow, RowBars, StreamInfo, to_ms
from producers.replay.sequencing import StreamOrder, ordered_bars

COLUMNS = 6
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_MS = timedelta(milliseconds=1)
DAY_MS = 86_400_000
MAX_DAYS_KEPT = 4_096
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]")
_TIME_OF_DAY = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")


def read_ohlcv(path: Path, stream: StreamInfo, dead_letters: DeadLetters, order: StreamOrder) -> Iterator[BarClosed]:
    """The bars of the file's good rows in time order; bad rows go to `dead_letters` with their file:line."""
    rows = _OhlcvRows(stream)
    return ordered_bars(csv_runs(path, dead_letters), rows.run_bars, rows.bar, f"{path}:", order, dead_letters)


class _OhlcvRows:
    __slots__ = ("_bars", "_days", "_times")

    def __init__(self, stream: StreamInfo) -> None:
        self._bars = RowBars(stream)
        # 'YYYY-MM-DD HH:MM:SS' is a day and a time of day, each read once by `parse_timestamp` (so checked as it
        # checks them) and then looked up; only that exact shape is kept, so any other text is parsed in full
        self._days: dict[str, int] = {}
        self._times: dict[str, int] = {}

    def bar(self, text: str) -> BarClosed:
        row = text.split(",") if '"' not in text else csv_fields(text)
        if len(row) != COLUMNS:
            raise InvalidBarRow(f"expected {COLUMNS} columns, found {len(row)}")
        return self._bars.bar(self._open_time_ms(row[0]), (row[1], row[2], row[3], row[4], row[5]))

    def run_bars(self, texts: list[str]) -> list[BarClosed] | None:
        """`RowBars.run_bars` of these rows, or None when one of them needs a closer look."""
        columns = csv_columns(texts, COLUMNS)
        if columns is None:
            return None
        stamps, opens, highs, lows, closes, volumes = columns
        days, times = self._days, self._times
        try:
            open_times_ms = [days[stamp[:11]] + times[stamp[11:]] for stamp in stamps]
        except KeyError:  # a day or a time of day not seen yet, or another shape: one by one
            try:
                open_times_ms = list(map(self._open_time_ms, stamps))
            except InvalidBarRow:
                return None
        return self._bars.run_bars(open_times_ms, (opens, highs, lows, closes, volumes))

    def _open_time_ms(self, stamp: str) -> int:
        if stamp.isdigit():
            return to_ms(stamp)
        try:
            return self._days[stamp[:11]] + self._times[stamp[11:]]
        except KeyError:
            return self._learn(stamp)

    def _learn(self, stamp: str) -> int:
        open_time_ms = parse_timestamp(stamp)
        day, time_of_day = stamp[:11], stamp[11:]
        if _DAY.fullmatch(day) and _TIME_OF_DAY.fullmatch(time_of_day):
            if len(self._days) >= MAX_DAYS_KEPT:
                self._days.clear()
            self._days[day] = open_time_ms - open_time_ms % DAY_MS
            self._times[time_of_day] = open_time_ms % DAY_MS
        return open_time_ms


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
