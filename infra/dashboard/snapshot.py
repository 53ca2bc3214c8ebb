"""Everything the page shows that is not a chart, in one JSON document: what the live stream pushes."""

from __future__ import annotations

import time
from typing import Any

from consumers.stores.ports import KillSwitchState
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
                "age_s": max(0, (now_ms - closed_at_ms) // 1000),  # since the newest bar closed, by the wall clock
                "lag_bars": streamer.get("lag_bars"),
                "backfilled": streamer.get("backfilled"),
                "seconds_since_publish": streamer.get("seconds_since_publish"),
            }
        )
    whole = full_range(streams)
    return {
        "source": source,
        "now_ms": now_ms,
        "kill_switch": switch_view(reader.kill_switch.engaged()),
        "strategies": strategy_rows(rows),
        "accounts": rows,
        "activity": activity(reader.latest_orders(LATEST * 2), reader.latest_orders(LATEST, "OrderRejected"), LATEST),
        "dead_letters": reader.dead_letters(LATEST),
        "streams": stream_rows,
        "streamer": {"totals": health.totals, "updated_ms": health.updated_ms},
        "range_ms": list(whole) if whole else None,
        "fills": len(fills),
    }


def switch_view(state: KillSwitchState | None) -> dict[str, Any]:
    return {"engaged": state is not None, "mode": state and state.mode, "reason": state and state.reason}
