"""The equity curve: every sub-account marked to the last close at each bar time, fills applied at their bar.

Held as columns (one list a value, an entry a bar time): each account's values are computed a run of bars at a
time, between its fills, and the accounts are then added up in a fixed order, so every Decimal is exactly what
marking the whole book bar by bar would give, exponent included."""

from __future__ import annotations

import bisect
import heapq
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from pathlib import Path

from events.models import OrderFilled
from infra.report.record import RunRecord
from infra.report.trades import iso_utc_each

ZERO = Decimal(0)

Account = tuple[str, str, str]  # (strategy, exchange, symbol)
Market = tuple[str, str]  # (exchange, symbol)


@dataclass(frozen=True, slots=True)
class EquityCurve:
    times_ms: list[int]  # each distinct bar time of the run, in order
    equity: list[Decimal]  # the whole book at each of those times
    by_strategy: dict[str, list[Decimal]]  # each strategy's sub-accounts added up, at each of those times


@dataclass(frozen=True, slots=True)
class _Timeline:
    times_ms: list[int]
    closes: dict[Market, list[Decimal]]  # each market's last close at each time (ZERO before its first bar)
    bar_times: dict[Market, list[int]]  # the times each market has a bar at: only those apply its fills


def equity_curve(record: RunRecord) -> EquityCurve:
    timeline = _timeline(record)
    by_strategy: dict[str, list[list[Decimal]]] = {}
    for account, fills in _accounts_with_fills(record).items():
        values = _account_values(record.starting_cash, fills, timeline, (account[1], account[2]))
        by_strategy.setdefault(account[0], []).append(values)
    size = len(timeline.times_ms)
    strategies = {strategy: _added_up(columns, size) for strategy, columns in by_strategy.items()}
    if len(strategies) == 1:  # a strategy's column is ZERO + …, and ZERO + (ZERO + x) is ZERO + x, exponent included
        (equity,) = strategies.values()
        return EquityCurve(timeline.times_ms, equity, strategies)
    return EquityCurve(timeline.times_ms, _added_up(list(strategies.values()), size), strategies)


def _timeline(record: RunRecord) -> _Timeline:
    series = record.closes
    bar_times = {market: list(map(operator.itemgetter(0), bars)) for market, bars in series.items()}
    if len(series) == 1:  # the common case: the one market's bars are the timeline
        ((market, bars),) = series.items()
        return _Timeline(bar_times[market], {market: list(map(operator.itemgetter(1), bars))}, bar_times)
    times_ms = [time_ms for time_ms, _ in groupby(heapq.merge(*bar_times.values()))]
    closes = {market: _filled_forward(bars, times_ms) for market, bars in series.items()}
    return _Timeline(times_ms, closes, bar_times)


def _filled_forward(bars: list[tuple[int, Decimal]], times_ms: list[int]) -> list[Decimal]:
    """The last close at or before each time, ZERO before the first."""
    column: list[Decimal] = []
    close = ZERO
    for time_ms, next_close in bars:
        column += [close] * (bisect.bisect_left(times_ms, time_ms) - len(column))
        close = next_close
    column += [close] * (len(times_ms) - len(column))
    return column


def _accounts_with_fills(record: RunRecord) -> dict[Account, list[OrderFilled]]:
    """Every account in the order the book first meets it (the order its values are added up in), with its fills
    in the order they apply: by bar time, and as listed within one bar."""
    fills: dict[Account, list[OrderFilled]] = {account: [] for account in record.accounts}
    for fill in record.fills:
        fills.setdefault((fill.strategy, fill.exchange, fill.symbol), []).append(fill)
    for account_fills in fills.values():
        account_fills.sort(key=operator.attrgetter("bar_open_time_ms"))  # stable: keeps the order within a bar
    return fills


def _account_values(cash: Decimal, fills: list[OrderFilled], timeline: _Timeline, market: Market) -> list[Decimal]:
    """cash + position × last close at each time: one multiply-add a bar, in C, for each run of bars between
    fills (the same expression the book would evaluate bar by bar, so the same Decimal)."""
    closes = timeline.closes.get(market) or [ZERO] * len(timeline.times_ms)  # a market without bars is marked at 0
    position = ZERO
    values: list[Decimal] = []
    start = 0
    for point, applied in _fills_by_point(fills, timeline, market):
        values += map(cash.__add__, map(position.__mul__, closes[start:point]))
        for fill in applied:
            cash += fill.cash_change
            position += fill.position_change
        start = point
    values += map(cash.__add__, map(position.__mul__, closes[start:]))
    return values


def _fills_by_point(
    fills: list[OrderFilled], timeline: _Timeline, market: Market
) -> Iterator[tuple[int, list[OrderFilled]]]:
    """(index on the timeline, the fills applied there), for fills whose market has a bar at their time: a fill
    at a time its market has no bar never applies, as in a book driven by the bars."""
    bar_times = timeline.bar_times.get(market, [])
    for time_ms, at_time in groupby(fills, key=operator.attrgetter("bar_open_time_ms")):
        index = bisect.bisect_left(bar_times, time_ms)
        if index < len(bar_times) and bar_times[index] == time_ms:
            yield bisect.bisect_left(timeline.times_ms, time_ms), list(at_time)


def _added_up(columns: list[list[Decimal]], size: int) -> list[Decimal]:
    """ZERO + first + second + … at each time, in that order (the sum's exponent and rounding depend on it)."""
    if not columns:
        return [ZERO] * size
    total = list(map(ZERO.__add__, columns[0]))
    for column in columns[1:]:
        total = list(map(operator.add, total, column))
    return total


def write_equity_csv(curve: EquityCurve, path: Path) -> None:
    # what csv.writer writes (CRLF rows; a time and a Decimal never need quoting), the rows joined in C
    lines = map(",".join, zip(iso_utc_each(curve.times_ms), map(Decimal.__str__, curve.equity), strict=True))
    with path.open("w", newline="") as handle:
        handle.write("\r\n".join(["time,equity", *lines, ""]))
