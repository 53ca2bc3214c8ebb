"""Chart series downsampled on the server: equity per strategy (as a return, so strategies of any size sit side
by side) and per sub-account, and one symbol's price with its fills and targets — never more points than asked."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from consumers.stores.ports import Account
from events.streams import StreamKey
from infra.dashboard.book_view import fills_by_account
from infra.dashboard.source import Closes, Fill, StateReader, StreamSpan

MINUTE_MS = 60_000
MAX_MARKERS = 2_000  # fills drawn on one price chart; zooming in shows the rest


def bucket_ms_for(start_ms: int, end_ms: int, points: int) -> int:
    """Whole minutes, wide enough that [start_ms, end_ms] needs at most `points` buckets."""
    span = max(end_ms - start_ms + 1, MINUTE_MS)
    minutes = -(-span // (MINUTE_MS * max(points, 1)))
    return max(1, minutes) * MINUTE_MS


def full_range(streams: dict[StreamKey, StreamSpan]) -> tuple[int, int] | None:
    if not streams:
        return None
    spans = streams.values()
    return min(s.first_open_time_ms for s in spans), max(s.last_open_time_ms for s in spans)


def equity_series(
    reader: StateReader,
    *,
    accounts: list[Account],
    all_fills: list[Fill],
    streams: dict[StreamKey, StreamSpan],
    start_ms: int,
    end_ms: int,
    points: int,
) -> dict[str, Any]:
    """Per strategy, its return in % on a common time grid; per sub-account, its PnL. Each bucket is marked at
    its last close, with the fills of every bar inside it applied (floats: this is for drawing)."""
    bucket_ms = bucket_ms_for(start_ms, end_ms, points)
    count = (end_ms - start_ms) // bucket_ms + 1
    stream_of = {(s.exchange, s.symbol): s for s in streams}
    marks = {
        market: _filled_forward(reader.closes(stream, start_ms, end_ms, bucket_ms), start_ms, bucket_ms, count)
        for market, stream in stream_of.items()
    }
    fills = fills_by_account(all_fills)
    per_account: dict[str, list[float | None]] = {}
    strategy_equity: dict[str, list[float]] = defaultdict(lambda: [0.0] * count)
    strategy_start: dict[str, float] = defaultdict(float)
    for account in sorted(accounts, key=lambda a: a.key):
        key = account.key
        account_fills = fills.get(key, [])
        start_cash = float(account.cash) + sum(fill.cash_out for fill in account_fills)
        market_marks = marks.get((key.exchange, key.symbol)) or [None] * count
        equity = _account_equity(start_cash, account_fills, market_marks, start_ms, bucket_ms)
        per_account[f"{key.strategy} {key.symbol}"] = [round(value - start_cash, 6) for value in equity]
        totals = strategy_equity[key.strategy]
        for index, value in enumerate(equity):
            totals[index] += value
        strategy_start[key.strategy] += start_cash
    return {
        "bucket_ms": bucket_ms,
        "times": [(start_ms + index * bucket_ms) // 1000 for index in range(count)],
        "strategies": {
            name: [round((value / strategy_start[name] - 1) * 100, 4) for value in values]
            for name, values in sorted(strategy_equity.items())
        },
        "accounts": per_account,
    }


def symbol_series(
    reader: StateReader, stream: StreamKey, all_fills: list[Fill], *, start_ms: int, end_ms: int, points: int
) -> dict[str, Any]:
    """One symbol: its price, the fills on it (buys and sells apart) and each strategy's target as steps."""
    bucket_ms = bucket_ms_for(start_ms, end_ms, points)
    closes = reader.closes(stream, start_ms, end_ms, bucket_ms)
    fills: dict[str, list[list[Any]]] = {"buy": [], "sell": []}
    for fill in all_fills:
        if (
            fill.symbol == stream.symbol
            and fill.exchange == stream.exchange
            and start_ms <= fill.bar_open_time_ms <= end_ms
        ):
            fills[fill.side].append([fill.bar_open_time_ms // 1000, float(fill.price), fill.strategy, str(fill.qty)])
    targets: dict[str, list[list[Any]]] = defaultdict(list)
    for strategy, time_ms, target in sorted(reader.targets(stream.exchange, stream.symbol), key=lambda t: t[1]):
        targets[strategy].append([time_ms // 1000, float(target)])
    return {
        "symbol": stream.symbol,
        "exchange": stream.exchange,
        "bucket_ms": bucket_ms,
        "times": [t // 1000 for t in closes.times_ms],
        "closes": closes.closes,
        "buys": fills["buy"][-MAX_MARKERS:],
        "sells": fills["sell"][-MAX_MARKERS:],
        "targets": dict(sorted(targets.items())),
    }


def _filled_forward(closes: Closes, start_ms: int, bucket_ms: int, count: int) -> list[float | None]:
    marks: list[float | None] = [None] * count
    for time_ms, close in zip(closes.times_ms, closes.closes, strict=True):
        marks[(time_ms - start_ms) // bucket_ms] = close
    last: float | None = None
    for index, mark in enumerate(marks):
        last = mark if mark is not None else last
        marks[index] = last
    return marks


def _account_equity(
    start_cash: float, fills: list[Fill], marks: list[float | None], start_ms: int, bucket_ms: int
) -> list[float]:
    """One pass over the buckets and the (bar-ordered) fills together."""
    equity = []
    cash, position, applied, count = start_cash, 0.0, 0, len(fills)
    bucket_end = start_ms + bucket_ms
    for close in marks:
        while applied < count and fills[applied].bar_open_time_ms < bucket_end:
            fill = fills[applied]
            cash -= fill.cash_out
            position += fill.position_change
            applied += 1
        equity.append(cash + position * close if close is not None else cash)
        bucket_end += bucket_ms
    return equity
