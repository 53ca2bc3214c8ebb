"""trades.csv: one row per fill, exact decimals, the triggering bar's open time in ISO-8601 UTC."""

from __future__ import annotations

import csv
import operator
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path

from events.models import OrderFilled

COLUMNS = ["time", "strategy", "symbol", "side", "qty", "price", "fee"]
DAY_MS = 86_400_000


def iso_utc(epoch_ms: int) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (ms dropped)."""
    (stamp,) = iso_utc_each([epoch_ms])
    return stamp


def iso_utc_each(epochs_ms: list[int]) -> Iterator[str]:
    """`iso_utc` of each time. Each date and each clock time is formatted once, and a time's arithmetic and
    lookups run in C, since a report writes a line a bar."""
    dates = map(_DATES.__getitem__, map(operator.floordiv, epochs_ms, repeat(DAY_MS)))
    seconds_of_day = map(operator.floordiv, map(operator.mod, epochs_ms, repeat(DAY_MS)), repeat(1000))
    return map(operator.add, dates, map(_CLOCKS.__getitem__, seconds_of_day))


class _Dates(dict[int, str]):
    """Day number since the epoch → 'YYYY-MM-DD', filled on first use (a dict lookup is what a bar pays)."""

    def __missing__(self, day: int) -> str:
        date = self[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")
        return date


class _Clocks(dict[int, str]):
    """Second of the day → 'THH:MM:SSZ' (what follows a date), filled on first use (at most 86,400 entries)."""

    def __missing__(self, seconds: int) -> str:
        clock = self[seconds] = f"T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"
        return clock


_DATES = _Dates()
_CLOCKS = _Clocks()


def write_trades_csv(fills: list[OrderFilled], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for fill in fills:
            writer.writerow(
                [iso_utc(fill.bar_open_time_ms), fill.strategy, fill.symbol, fill.side, fill.qty, fill.price, fill.fee]
            )
