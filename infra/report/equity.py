"""The equity curve: every sub-account marked to the last close at each bar time, fills applied at their bar."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from infra.report.record import RunRecord
from infra.report.trades import iso_utc

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time_ms: int
    equity: Decimal
    by_strategy: dict[str, Decimal]  # each strategy's sub-accounts added up


def equity_curve(record: RunRecord) -> list[EquityPoint]:
    accounts = list(record.accounts)
    cash = dict.fromkeys(accounts, record.starting_cash)
    position = dict.fromkeys(accounts, ZERO)
    fills_at: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for index, fill in enumerate(record.fills):
        fills_at[(fill.bar_open_time_ms, fill.exchange, fill.symbol)].append(index)
        cash.setdefault((fill.strategy, fill.exchange, fill.symbol), record.starting_cash)
        position.setdefault((fill.strategy, fill.exchange, fill.symbol), ZERO)
    last_close: dict[tuple[str, str], Decimal] = {}
    points: list[EquityPoint] = []
    # each account with its strategy and market, looked up once rather than at every bar
    marked = [(account, account[0], (account[1], account[2])) for account in cash]
    series = list(record.closes.items())
    merged: Iterable[tuple[int, tuple[str, str], Decimal]] = (
        [(time_ms, series[0][0], close) for time_ms, close in series[0][1]]
        if len(series) == 1
        else heapq.merge(*[[(time_ms, market, close) for time_ms, close in closes] for market, closes in series])
    )
    pending_time: int | None = None
    for time_ms, market, close in merged:
        if pending_time is not None and time_ms != pending_time:
            points.append(_mark(pending_time, marked, cash, position, last_close))
        last_close[market] = close
        for index in fills_at.get((time_ms, *market), ()):
            fill = record.fills[index]
            account = (fill.strategy, fill.exchange, fill.symbol)
            cash[account] += fill.cash_change
            position[account] += fill.position_change
        pending_time = time_ms
    if pending_time is not None:
        points.append(_mark(pending_time, marked, cash, position, last_close))
    return points


def _mark(
    time_ms: int,
    marked: list[tuple[tuple[str, str, str], str, tuple[str, str]]],
    cash: dict[tuple[str, str, str], Decimal],
    position: dict[tuple[str, str, str], Decimal],
    last_close: dict[tuple[str, str], Decimal],
) -> EquityPoint:
    by_strategy: dict[str, Decimal] = {}
    for account, strategy, market in marked:
        value = cash[account] + position[account] * last_close.get(market, ZERO)
        by_strategy[strategy] = by_strategy.get(strategy, ZERO) + value
    return EquityPoint(time_ms, sum(by_strategy.values(), ZERO), by_strategy)


def write_equity_csv(points: list[EquityPoint], path: Path) -> None:
    # what csv.writer writes (CRLF rows; a time and a Decimal never need quoting), a line a bar in one write
    with path.open("w", newline="") as handle:
        handle.write(
            "".join(["time,equity\r\n", *(f"{iso_utc(point.time_ms)},{point.equity}\r\n" for point in points)])
        )
