"""trades.csv: one row per fill, exact decimals, the triggering bar's open time in ISO-8601 UTC, the order id (the
exchange's clientOrderId) and each commission in the asset it was paid in, so an exchange export joins to it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from consumers.ledger.fills import assets_of, quote_fee
from events.models import OrderFilled

COLUMNS = ["time", "strategy", "symbol", "side", "qty", "price", "fee", "fee_asset", "fee_quote", "order_id"]


def iso_utc(epoch_ms: int) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (ms dropped)."""
    return datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_trades_csv(fills: list[OrderFilled], path: Path) -> None:
    path.write_bytes(trades_csv(fills))


def trades_csv(fills: list[OrderFilled]) -> bytes:
    """The file's bytes (UTF-8, CRLF rows as the csv module writes them)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for fill in fills:
        fee, fee_asset = fee_paid(fill)
        time = iso_utc(fill.bar_open_time_ms)
        row = [time, fill.strategy, fill.symbol, fill.side, fill.qty, fill.price, fee, fee_asset]
        writer.writerow([*row, quote_fee(fill), fill.order_id])
    return text.getvalue().encode()


def fee_paid(fill: OrderFilled) -> tuple[str, str]:
    """The commission as paid ('0.00001', 'BTC'); several assets (rare) joined by ';' in the same order."""
    base, quote = assets_of(fill.symbol)
    paid = [(amount, asset) for amount, asset in ((fill.fee, quote), (fill.fee_base, base)) if amount]
    paid += [(amount, asset) for asset, amount in sorted(fill.fee_other.items()) if amount]
    if not paid:
        return str(fill.fee), quote
    return ";".join(str(amount) for amount, _ in paid), ";".join(asset for _, asset in paid)
