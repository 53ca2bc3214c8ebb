"""trades.csv: one row per fill, exact decimals, the triggering bar's open time in ISO-8601 UTC."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from events.models import OrderFilled

COLUMNS = ["time", "strategy", "symbol", "side", "qty", "price", "fee"]


def iso_utc(epoch_ms: int) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (ms dropped)."""
    return datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_trades_csv(fills: list[OrderFilled], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for fill in fills:
            writer.writerow(
                [iso_utc(fill.bar_open_time_ms), fill.strategy, fill.symbol, fill.side, fill.qty, fill.price, fill.fee]
            )
