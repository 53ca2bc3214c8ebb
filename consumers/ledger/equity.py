"""The book over bars: every sub-account marked to its market's last close at each bar time, each fill applied
from the first bar time at or after its own bar (so fills a resumed run settled before its first bar count).

Held as columns (one list a value, an entry a bar time): each account's values are computed a run of bars at a
time, between its fills, and the accounts are then added up in a fixed order, so every Decimal is exactly what
marking the whole book bar by bar would give, exponent included."""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, getcontext
from itertools import groupby
from typing import TypeVar

from consumers.ledger.fills import LedgerFill

ZERO = Decimal(0)

Account = tuple[str, str, str]  # (strategy, exchange, symbol)
Market = tuple[str, str]  # (exchange, symbol)


@dataclass(frozen=True, slots=True)
class EquityCurve:
    times_ms: list[int]  # each distinct bar time of the run, in order
    equity: list[Decimal]  # the whole book at each of those times
    by_strategy: dict[str, list[Decimal]]  # each strategy's sub-accounts added up, at each of those times
    # the same two in float arithmetic (each account's cash + position × close in floats): what ratios (per-bar
    # returns) are taken of, to a ratio's precision, where a float() of each Decimal would go through its text
    floats: list[float]
    floats_by_strategy: dict[str, list[float]]


@dataclass(frozen=True, slots=True)
class Timeline:
    """Each distinct bar time of a run, and each market's last close at each of them (ZERO before its first bar),
    exact and as floats. Made once per run: the items of a sweep batch share their run's."""

    times_ms: list[int]
    closes: dict[Market, list[Decimal]]
    floats: dict[Market, list[float]]
    least_exponents: dict[Market, int]  # each market's smallest close exponent (Decimal('84000.12'): -2)
    last_close: dict[Market, Decimal]  # each market's last close, of the markets that had a bar

    @classmethod
    def of(cls, series: Mapping[Market, list[tuple[int, Decimal]]]) -> Timeline:
        """From each market's (open_time_ms, close) in time order."""
        bar_times = {market: list(map(operator.itemgetter(0), bars)) for market, bars in series.items()}
        if len(series) == 1:  # the common case: the one market's bars are the timeline
            ((market, bars),) = series.items()
            times_ms, closes = bar_times[market], {market: list(map(operator.itemgetter(1), bars))}
        else:
            times_ms = [time_ms for time_ms, _ in groupby(heapq.merge(*bar_times.values()))]
            closes = {market: _filled_forward(bars, times_ms) for market, bars in series.items()}
        floats = {market: list(map(float, column)) for market, column in closes.items()}
        least_exponents = {market: _least_exponent(column) for market, column in closes.items()}
        last_close = {market: bars[-1][1] for market, bars in series.items() if bars}
        return cls(times_ms, closes, floats, least_exponents, last_close)


def _least_exponent(closes: list[Decimal]) -> int:
    exponents = [close.as_tuple().exponent for close in closes]
    return min((exponent for exponent in exponents if isinstance(exponent, int)), default=0)


def equity_curve(
    starting_cash: Mapping[Account, Decimal], timeline: Timeline, fills: Sequence[LedgerFill]
) -> EquityCurve:
    """`starting_cash` names every account (in the order they are added up); `timeline` holds the markets' closes;
    `fills` in the order they applied."""
    size = len(timeline.times_ms)
    by_strategy: dict[str, list[list[Decimal]]] = {}
    floats_by_strategy: dict[str, list[list[float]]] = {}
    first_adds_up: dict[str, bool] = {}  # whether each strategy's first column is ZERO + itself, value by value
    for account, account_fills in _accounts_with_fills(list(starting_cash), fills).items():
        market = (account[1], account[2])
        cash = starting_cash.get(account, ZERO)
        market_closes = timeline.closes.get(market) or [ZERO] * size  # no bars: marked at 0
        market_floats = timeline.floats.get(market) or [0.0] * size
        least_exponent = timeline.least_exponents.get(market, 0)
        values = _marked(cash, account_fills, timeline.times_ms, market_closes, _exact_marks(least_exponent))
        first_adds_up.setdefault(account[0], _zero_adds_nothing(cash, account_fills))
        by_strategy.setdefault(account[0], []).append(values)
        floats = _marked(cash, account_fills, timeline.times_ms, market_floats, _float_marks)
        floats_by_strategy.setdefault(account[0], []).append(floats)
    strategies = {
        strategy: _added_up(columns, size, first_adds_up=first_adds_up[strategy])
        for strategy, columns in by_strategy.items()
    }
    strategy_floats = {strategy: _floats_added_up(columns, size) for strategy, columns in floats_by_strategy.items()}
    if len(strategies) == 1:  # a strategy's column is ZERO + …, and ZERO + (ZERO + x) is ZERO + x, exponent included
        ((equity,), (floats,)) = strategies.values(), strategy_floats.values()
        return EquityCurve(timeline.times_ms, equity, strategies, floats, strategy_floats)
    return EquityCurve(
        timeline.times_ms,
        _added_up(list(strategies.values()), size),
        strategies,
        _floats_added_up(list(strategy_floats.values()), size),
        strategy_floats,
    )


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
    applied from the first time at or after its bar: one multiply-add a time, for each run of times between fills
    (the expression the book would evaluate bar by bar, so the same Decimal). The dashboard calls this with a
    chart's buckets."""
    return _marked(cash, fills, times_ms, closes, _exact_marks(None))


Number = TypeVar("Number", Decimal, float)
Marks = Callable[[Decimal, Decimal, Sequence[Number]], list[Number]]  # (cash, position, closes) → each mark


def _marked(
    cash: Decimal, fills: Sequence[LedgerFill], times_ms: Sequence[int], closes: Sequence[Number], marks: Marks[Number]
) -> list[Number]:
    """`account_values`, each run of times between fills marked by `marks` (exact, or in floats)."""
    position = ZERO
    values: list[Number] = []
    start = 0
    for point, applied in _fills_by_point(fills, times_ms):
        values += marks(cash, position, closes[start:point])
        for fill in applied:
            cash += fill.cash_change
            position += fill.position_change
        start = point
    values += marks(cash, position, closes[start:])
    return values


def _exact_marks(least_exponent: int | None) -> Marks[Decimal]:
    """cash + position × close, each in Decimal. Flat (position 0), that is the cash itself, digits and exponent,
    when the cash is not 0, fits the context's digits and has an exponent of at most the position's plus the
    closes' least (`least_exponent`, None when not known): a sum takes the smaller exponent, and 0 × close has
    the position's plus the close's. Then the run is the one Decimal, not one made per time."""

    def marks(cash: Decimal, position: Decimal, closes: Sequence[Decimal]) -> list[Decimal]:
        if not position and least_exponent is not None and _is_its_own_flat_mark(cash, position, least_exponent):
            return [cash] * len(closes)
        # a list comprehension: the operators' own slots, where a map over bound `__add__`s takes half as long again
        return [cash + position * close for close in closes]

    return marks


def _is_its_own_flat_mark(cash: Decimal, position: Decimal, least_exponent: int) -> bool:
    cash_exponent, position_exponent = cash.as_tuple().exponent, position.as_tuple().exponent
    return (
        bool(cash)
        and isinstance(cash_exponent, int)
        and isinstance(position_exponent, int)
        and cash_exponent <= position_exponent + least_exponent
        and len(cash.as_tuple().digits) <= getcontext().prec
    )


def _float_marks(cash: Decimal, position: Decimal, closes: Sequence[float]) -> list[float]:
    """cash + position × close in floats; flat, the cash itself (cash + 0.0 × close, for a cash that is not 0)."""
    if not position and cash:
        return [float(cash)] * len(closes)
    held, owned = float(cash), float(position)
    return [held + owned * close for close in closes]


def _fills_by_point(fills: Sequence[LedgerFill], times_ms: Sequence[int]) -> Iterator[tuple[int, list[LedgerFill]]]:
    """(the first index at or after the fills' bar time, the fills applied there), fills after the last time
    left out."""
    for time_ms, at_time in groupby(fills, key=operator.attrgetter("bar_open_time_ms")):
        index = bisect.bisect_left(times_ms, time_ms)
        if index < len(times_ms):
            yield index, list(at_time)


def _added_up(columns: list[list[Decimal]], size: int, *, first_adds_up: bool = False) -> list[Decimal]:
    """ZERO + first + second + … at each time, in that order (the sum's exponent and rounding depend on it).
    `first_adds_up`: ZERO + each value of the first column is that value, digits and exponent (`_zero_adds_nothing`),
    so the sum starts from it (a sweep item's one column is its curve, not copied)."""
    if not columns:
        return [ZERO] * size
    total = columns[0] if first_adds_up else [ZERO + value for value in columns[0]]
    for column in columns[1:]:
        total = [sum_so_far + value for sum_so_far, value in zip(total, column, strict=True)]
    return total


def _zero_adds_nothing(cash: Decimal, fills: Sequence[LedgerFill]) -> bool:
    """True when ZERO + v is v itself for every value v = cash + position × close `account_values` gives from this
    cash and these fills: every cash held between fills has an exponent of at most 0 and is not −0. A sum's exponent
    is the smaller of its terms' (ZERO's is 0), so each v already has ZERO's; only −0 + −0 makes −0, where ZERO + −0
    is 0; and a v rounded to the context's digits is not rounded again."""
    for held in itertools.accumulate((fill.cash_change for fill in fills), initial=cash):
        exponent = held.as_tuple().exponent
        if not isinstance(exponent, int) or exponent > 0 or (held.is_zero() and held.is_signed()):
            return False
    return True


def _floats_added_up(columns: list[list[float]], size: int) -> list[float]:
    """The float columns added up at each time (one column is its own sum)."""
    if len(columns) == 1:
        return columns[0]
    return [math.fsum(values) for values in zip(*columns, strict=True)] if columns else [0.0] * size
