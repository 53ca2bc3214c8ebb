"""trades.csv: one row per fill, exact decimals, the triggering bar's open time in ISO-8601 UTC."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from events.models import OrderFilled

COLUMNS = ["time", "strategy", "symbol", "side", "qty", "price", "fee"]
DAY_MS = 86_400_000


def iso_utc(epoch_ms: int) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (ms dropped); the date is formatted once per day, since a report writes a line a bar."""
    day, ms_of_day = divmod(epoch_ms, DAY_MS)
    seconds = ms_of_day // 1000
    return f"{_date_of(day)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


@lru_cache(maxsize=64)
def _date_of(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


def write_trades_csv(fills: list[OrderFilled], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for fill in fills:
            writer.writerow(
                [iso_utc(fill.bar_open_time_ms), fill.strategy, fill.symbol, fill.side, fill.qty, fill.price, fill.fee]
            )
