"""Everything the page shows that is not a chart, in one JSON document: what the live stream pushes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from consumers.ledger.account import RoundTrip
from consumers.ledger.statistics import trade_statistics, trip_table
from consumers.stores.kill_switch_modes import WHAT_EACH_MODE_DOES
from consumers.stores.ports import ZERO, Account, AccountKey, KillSwitchState
from events.streams import StreamKey
from events.timeframes import timeframe_ms
from infra.dashboard.book_view import account_rows, activity, fills_by_account, round_trips, strategy_rows
from infra.dashboard.series_view import full_range
from infra.dashboard.source import Fill, StateReader

LATEST = 50  # rows in each "newest first" list


def snapshot(reader: StateReader, source: str) -> dict[str, Any]:
    fills = reader.fills()
    streams = reader.streams()
    accounts, by_account = reader.accounts(), fills_by_account(fills)
    rows = account_rows(accounts, by_account, streams)
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
        "trade_statistics": statistics_view(accounts, by_account),
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


def statistics_view(accounts: list[Account], fills: dict[AccountKey, list[Fill]]) -> dict[str, Any]:
    """The ledger's round-trip statistics for the page: overall and per strategy, per day and per week (per pair
    they would be 470 rows on every fill; the sub-account table counts each pair's round trips)."""
    trips = round_trips(accounts, fills)
    overall = trade_statistics(trips)
    by_strategy: dict[str, list[RoundTrip]] = {}
    for trip in trips:
        by_strategy.setdefault(trip.strategy, []).append(trip)
    per_strategy = {name: trip_table(group) for name, group in sorted(by_strategy.items())}
    return {
        "total": overall["total"],
        "per_strategy": per_strategy,
        "per_day": overall["per_day"],
        "per_week": overall["per_week"],
    }
