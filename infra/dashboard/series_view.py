"""Chart series downsampled on the server: equity per strategy (as a return, so strategies of any size sit side
by side) and per sub-account, and one symbol's price with its fills and targets — never more points than asked."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from consumers.ledger.equity import account_values
from consumers.stores.ports import Account
from events.streams import StreamKey
from infra.dashboard.book_view import fills_by_account
from infra.dashboard.source import Closes, Fill, StateReader, StreamSpan

ZERO = Decimal(0)
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
    bucket_ends_ms = [start_ms + (index + 1) * bucket_ms - 1 for index in range(count)]  # a bucket's fills count
    per_account: dict[str, list[float | None]] = {}
    strategy_equity: dict[str, list[float]] = defaultdict(lambda: [0.0] * count)
    strategy_start: dict[str, float] = defaultdict(float)
    for account in sorted(accounts, key=lambda a: a.key):
        key = account.key
        account_fills = fills.get(key, [])
        exact_start = account.cash - sum((fill.cash_change for fill in account_fills), ZERO)
        market_marks = marks.get((key.exchange, key.symbol)) or [ZERO] * count
        exact = account_values(exact_start, account_fills, bucket_ends_ms, market_marks)
        start_cash = float(exact_start)
        equity = [float(value) for value in exact]
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


def _filled_forward(closes: Closes, start_ms: int, bucket_ms: int, count: int) -> list[Decimal]:
    """Each bucket's last close (exactly the float drawn), carried forward; 0 before the first (nothing held
    is worth anything before its market's first bar in the range)."""
    marks: list[Decimal | None] = [None] * count
    for time_ms, close in zip(closes.times_ms, closes.closes, strict=True):
        marks[(time_ms - start_ms) // bucket_ms] = Decimal(close)
    last = ZERO
    filled = []
    for mark in marks:
        last = mark if mark is not None else last
        filled.append(last)
    return filled
