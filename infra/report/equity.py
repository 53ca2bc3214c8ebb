"""The equity curve: every sub-account marked to the last close at each bar time, fills applied at their bar."""

from __future__ import annotations

import csv
import heapq
from collections import defaultdict
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
    merged = heapq.merge(
        *[[(time_ms, market, close) for time_ms, close in series] for market, series in record.closes.items()]
    )
    pending_time: int | None = None
    for time_ms, market, close in merged:
        if pending_time is not None and time_ms != pending_time:
            points.append(_mark(pending_time, cash, position, last_close))
        last_close[market] = close
        for index in fills_at.get((time_ms, *market), ()):
            fill = record.fills[index]
            account = (fill.strategy, fill.exchange, fill.symbol)
            cash[account] += fill.cash_change
            position[account] += fill.position_change
        pending_time = time_ms
    if pending_time is not None:
        points.append(_mark(pending_time, cash, position, last_close))
    return points


def _mark(
    time_ms: int,
    cash: dict[tuple[str, str, str], Decimal],
    position: dict[tuple[str, str, str], Decimal],
    last_close: dict[tuple[str, str], Decimal],
) -> EquityPoint:
    by_strategy: dict[str, Decimal] = {}
    for account, account_cash in cash.items():
        value = account_cash + position[account] * last_close.get((account[1], account[2]), ZERO)
        by_strategy[account[0]] = by_strategy.get(account[0], ZERO) + value
    return EquityPoint(time_ms, sum(by_strategy.values(), ZERO), by_strategy)


def write_equity_csv(points: list[EquityPoint], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "equity"])
        for point in points:
            writer.writerow([iso_utc(point.time_ms), point.equity])
