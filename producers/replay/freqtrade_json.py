"""freqtrade's `json` data format (`user_data/data/<exchange>/<BASE>_<QUOTE>-<timeframe>.json`): one JSON array of
`[open_time_ms, open, high, low, close, volume]` rows, numbers as JSON numbers, no close time or trade count."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.rows import MICROSECONDS, InvalidBarRow, RowBars, StreamInfo, to_ms
from producers.replay.sequencing import StreamOrder, ordered_bars

COLUMNS = 6
# freqtrade names a pair file BASE_QUOTE-TIMEFRAME.json (futures add _SETTLE and -futures; spot is what we read)
FILE_NAME = re.compile(r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)-(?P<timeframe>\d+[smhdwM])\.json$")


def is_freqtrade_json(path: Path) -> bool:
    """A `.json` file whose content is an array (an stds recording holds one event object per line)."""
    if path.suffix != ".json":
        return False
    with path.open("rb") as handle:
        return handle.read(64).lstrip().startswith(b"[")


def pair_of(path: Path) -> tuple[str, str] | None:
    """(unified symbol, timeframe) from a freqtrade file name, e.g. BTC_USDT-1m.json → ("BTC/USDT", "1m")."""
    named = FILE_NAME.match(path.name)
    if named is None:
        return None
    return f"{named['base'].upper()}/{named['quote'].upper()}", named["timeframe"]


def first_open_ms(path: Path) -> int | None:
    """The first row's open time, read from the file's first bytes (files of a pair are read in time order)."""
    with path.open("rb") as handle:
        first = _FIRST_OPEN_TIME.match(handle.read(64))
    return int(first[1]) if first else None


_FIRST_OPEN_TIME = re.compile(rb"\s*\[\s*\[\s*(\d+)\s*,")


def count_rows(path: Path) -> int:
    """Rows in the array without parsing it (for a progress bar): one `[` per row plus the outer one."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"[") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


def read_freqtrade_json(
    path: Path, stream: StreamInfo, dead_letters: DeadLetters, order: StreamOrder
) -> Iterator[BarClosed]:
    """Each row as a bar, origin `file:row N` (1-based); a bad row or an unreadable file is dead-lettered."""
    raw = path.read_bytes()
    # numbers kept as their JSON text: a price goes from the file into a Decimal without passing through a float;
    # a file without a quote holds no JSON string, so there its numbers can stay plain str (a cheaper hook)
    number = str if b'"' not in raw else _JsonNumber
    try:
        rows = json.loads(raw, parse_float=number, parse_int=number)
    except (ValueError, UnicodeDecodeError) as error:
        dead_letters.put(str(path), f"not a freqtrade JSON file: {error}", raw[:200].decode("utf-8", "replace"))
        return iter(())
    except RecursionError:  # rows are arrays of numbers: two levels; the parser gives up near a thousand
        reason = "not a freqtrade JSON file: arrays nested far deeper than rows of numbers"
        dead_letters.put(str(path), reason, raw[:200].decode("utf-8", "replace"))
        return iter(())
    if not isinstance(rows, list):
        dead_letters.put(str(path), "not a freqtrade JSON file: expected an array of rows", type(rows).__name__)
        return iter(())
    reader = _FreqtradeRows(stream, number)
    return ordered_bars([(1, rows)], reader.run_bars, reader.bar, f"{path}:row ", order, dead_letters)


class _JsonNumber(str):
    """A JSON number's text, told apart from a JSON string that happens to hold digits."""

    __slots__ = ()


class _FreqtradeRows:
    __slots__ = ("_bars", "_numbers_only")

    def __init__(self, stream: StreamInfo, number: type[str]) -> None:
        self._bars = RowBars(stream)
        self._numbers_only = {number}

    def bar(self, row: Any) -> BarClosed:
        if type(row) is not list or len(row) != COLUMNS:
            raise InvalidBarRow(f"expected a row of {COLUMNS} numbers [open_time_ms, open, high, low, close, volume]")
        if set(map(type, row)) != self._numbers_only:
            raise InvalidBarRow("every value of a row must be a JSON number")
        open_time, open_, high, low, close, volume = row
        if not open_time.isdigit():
            raise InvalidBarRow(f"open time {open_time} is not an integer of ms")
        return self._bars.bar(to_ms(open_time), (open_, high, low, close, volume))

    def run_bars(self, rows: list[Any]) -> list[BarClosed] | None:
        """`RowBars.run_bars` of these rows, or None when one of them needs a closer look."""
        if set(map(type, rows)) != {list} or set(map(len, rows)) != {COLUMNS}:
            return None
        columns = list(zip(*rows, strict=True))
        if set(map(type, chain.from_iterable(columns))) != self._numbers_only or not all(map(str.isdigit, columns[0])):
            return None
        try:
            open_times_ms = list(map(int, columns[0]))
        except ValueError:
            return None
        if max(open_times_ms) >= MICROSECONDS:
            return None
        return self._bars.run_bars(open_times_ms, columns[1:6])
