"""Everything the page shows that is not a chart, in one JSON document: what the live stream pushes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from consumers.stores.kill_switch_modes import WHAT_EACH_MODE_DOES
from consumers.stores.ports import ZERO, KillSwitchState
from events.streams import StreamKey
from events.timeframes import timeframe_ms
from infra.dashboard.book_view import account_rows, activity, fills_by_account, strategy_rows
from infra.dashboard.series_view import full_range
from infra.dashboard.source import StateReader

LATEST = 50  # rows in each "newest first" list


def snapshot(reader: StateReader, source: str) -> dict[str, Any]:
    fills = reader.fills()
    streams = reader.streams()
    rows = account_rows(reader.accounts(), fills_by_account(fills), streams)
    health = reader.health()
    counted = {StreamKey(s["exchange"], s["symbol"], s["timeframe"]): s for s in health.streams}
    now_ms = int(time.time() * 1000)
    stream_rows = []
    for stream, span in sorted(streams.items()):
        closed_at_ms = span.last_open_time_ms + timeframe_ms(stream.timeframe)
        streamer = counted.get(stream, {})
        stream_rows.append(
            {
                "exchange": stream.exchange,
                "symbol": stream.symbol,
                "timeframe": stream.timeframe,
                "first_open_time_ms": span.first_open_time_ms,
                "last_open_time_ms": span.last_open_time_ms,
                "last_close": str(span.last_close),
                "closed_at_ms": closed_at_ms,  # the page counts the age from now_ms (a row moves only with its bars)
                "lag_bars": streamer.get("lag_bars"),
                "backfilled": streamer.get("backfilled"),
                "seconds_since_publish": streamer.get("seconds_since_publish"),
            }
        )
    whole = full_range(streams)
    strategies = strategy_rows(rows)
    return {
        "source": source,
        "now_ms": now_ms,
        "live": reader.live(),
        "kill_switch": switch_view(reader.kill_switch.engaged()),
        "kill_switch_modes": WHAT_EACH_MODE_DOES,
        "portfolio": portfolio_row(rows),
        "strategies": strategies,  # each in its chart.png colour
        # each symbol's last close is in its stream's row: in every account's too, a new bar would change them all
        "accounts": [{name: value for name, value in row.items() if name != "last_close"} for row in rows],
        "activity": activity(reader.latest_orders(LATEST * 2), reader.latest_orders(LATEST, "OrderRejected"), LATEST),
        "dead_letters": reader.dead_letters(LATEST),
        "streams": stream_rows,
        "streamer": {"totals": health.totals, "updated_ms": health.updated_ms},
        "range_ms": list(whole) if whole else None,
        "fills": len(fills),
    }


def switch_view(state: KillSwitchState | None) -> dict[str, Any]:
    return {"engaged": state is not None, "mode": state and state.mode, "reason": state and state.reason}


def portfolio_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every sub-account added up: what the whole run started with, has now, and earned on it."""
    start = sum((Decimal(row["starting_cash"]) for row in rows), ZERO)
    pnl = sum((Decimal(row["pnl"]) for row in rows), ZERO)
    return {
        "starting_cash": str(start),
        "equity": str(start + pnl),
        "pnl": str(pnl),
        "fees": str(sum((Decimal(row["fees"]) for row in rows), ZERO)),
        "trades": sum(row["trades"] for row in rows),
        "sub_accounts": len(rows),
        "return_pct": round(float(pnl / start * 100), 4) if start else 0.0,
    }
