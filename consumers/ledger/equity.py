"""The book over bars: every sub-account marked to its market's last close at each bar time, each fill applied
from the first bar time at or after its own bar (so fills a resumed run settled before its first bar count).

Held as columns (one list a value, an entry a bar time): each account's values are computed a run of bars at a
time, between its fills, and the accounts are then added up in a fixed order, so every Decimal is exactly what
marking the whole book bar by bar would give, exponent included."""

from __future__ import annotations

import bisect
import heapq
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from consumers.ledger.fills import LedgerFill

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


def equity_curve(
    starting_cash: Mapping[Account, Decimal],
    closes: Mapping[Market, list[tuple[int, Decimal]]],
    fills: Sequence[LedgerFill],
) -> EquityCurve:
    """`starting_cash` names every account (in the order they are added up); `closes` are each market's
    (open_time_ms, close) in time order; `fills` in the order they applied."""
    timeline = _timeline(closes)
    by_strategy: dict[str, list[list[Decimal]]] = {}
    for account, account_fills in _accounts_with_fills(list(starting_cash), fills).items():
        market = (account[1], account[2])
        market_closes = timeline.closes.get(market) or [ZERO] * len(timeline.times_ms)  # no bars: marked at 0
        values = account_values(starting_cash.get(account, ZERO), account_fills, timeline.times_ms, market_closes)
        by_strategy.setdefault(account[0], []).append(values)
    size = len(timeline.times_ms)
    strategies = {strategy: _added_up(columns, size) for strategy, columns in by_strategy.items()}
    if len(strategies) == 1:  # a strategy's column is ZERO + …, and ZERO + (ZERO + x) is ZERO + x, exponent included
        (equity,) = strategies.values()
        return EquityCurve(timeline.times_ms, equity, strategies)
    return EquityCurve(timeline.times_ms, _added_up(list(strategies.values()), size), strategies)


def _timeline(series: Mapping[Market, list[tuple[int, Decimal]]]) -> _Timeline:
    bar_times = {market: list(map(operator.itemgetter(0), bars)) for market, bars in series.items()}
    if len(series) == 1:  # the common case: the one market's bars are the timeline
        ((market, bars),) = series.items()
        return _Timeline(bar_times[market], {market: list(map(operator.itemgetter(1), bars))})
    times_ms = [time_ms for time_ms, _ in groupby(heapq.merge(*bar_times.values()))]
    closes = {market: _filled_forward(bars, times_ms) for market, bars in series.items()}
    return _Timeline(times_ms, closes)


def _filled_forward(bars: list[tuple[int, Decimal]], times_ms: list[int]) -> list[Decimal]:
    """The last close at or before each time, ZERO before the first."""
    column: list[Decimal] = []
    close = ZERO
    for time_ms, next_close in bars:
        column += [close] * (bisect.bisect_left(times_ms, time_ms) - len(column))
        close = next_close
    column += [close] * (len(times_ms) - len(column))
    return column


def _accounts_with_fills(accounts: list[Account], fills: Sequence[LedgerFill]) -> dict[Account, list[LedgerFill]]:
    """Every account in the order given (the order its values are added up in), then any only a fill names, with
    its fills in the order they apply: by bar time, and as listed within one bar."""
    grouped: dict[Account, list[LedgerFill]] = {account: [] for account in accounts}
    for fill in fills:
        grouped.setdefault((fill.strategy, fill.exchange, fill.symbol), []).append(fill)
    for account_fills in grouped.values():
        account_fills.sort(key=operator.attrgetter("bar_open_time_ms"))  # stable: keeps the order within a bar
    return grouped


def account_values(
    cash: Decimal, fills: Sequence[LedgerFill], times_ms: Sequence[int], closes: Sequence[Decimal]
) -> list[Decimal]:
    """One sub-account's cash + position × close at each time (`closes[i]` the mark at `times_ms[i]`), each fill
    applied from the first time at or after its bar: one multiply-add a time, in C, for each run of times
    between fills (the expression the book would evaluate bar by bar, so the same Decimal). The dashboard
    calls this with a chart's buckets."""
    position = ZERO
    values: list[Decimal] = []
    start = 0
    for point, applied in _fills_by_point(fills, times_ms):
        values += map(cash.__add__, map(position.__mul__, closes[start:point]))
        for fill in applied:
            cash += fill.cash_change
            position += fill.position_change
        start = point
    values += map(cash.__add__, map(position.__mul__, closes[start:]))
    return values


def _fills_by_point(fills: Sequence[LedgerFill], times_ms: Sequence[int]) -> Iterator[tuple[int, list[LedgerFill]]]:
    """(the first index at or after the fills' bar time, the fills applied there), fills after the last time
    left out."""
    for time_ms, at_time in groupby(fills, key=operator.attrgetter("bar_open_time_ms")):
        index = bisect.bisect_left(times_ms, time_ms)
        if index < len(times_ms):
            yield index, list(at_time)


def _added_up(columns: list[list[Decimal]], size: int) -> list[Decimal]:
    """ZERO + first + second + … at each time, in that order (the sum's exponent and rounding depend on it)."""
    if not columns:
        return [ZERO] * size
    total = list(map(ZERO.__add__, columns[0]))
    for column in columns[1:]:
        total = list(map(operator.add, total, column))
    return total
