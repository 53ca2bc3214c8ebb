"""summary.json: PnL, return, drawdown, Sharpe, costs and throughput of a run, overall and per sub-account."""

from __future__ import annotations

import itertools
import math
import operator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from events.models import OrderFilled
from events.timeframes import TIMEFRAME_MS
from infra.report.equity import EquityCurve
from infra.report.record import RunRecord

ZERO = Decimal(0)
MS_PER_YEAR = 365 * 24 * 3600 * 1000


def summarize(record: RunRecord, curve: EquityCurve, timeframe: str = "1m") -> dict[str, Any]:
    starting = record.starting_cash * len(_all_accounts(record))
    final = curve.equity[-1] if curve.equity else starting
    pnl = final - starting
    moved = moved_indices(curve.equity)
    return {
        "starting_equity": str(starting),
        "final_equity": str(final),
        "pnl": str(pnl),
        "return_pct": round(float(pnl / starting * 100), 4) if starting else 0.0,
        "max_drawdown_pct": round(max_drawdown_pct(curve.equity, moved), 4),
        "sharpe": round(sharpe(curve.equity, moved, TIMEFRAME_MS[timeframe]), 4),
        "trades": len(record.fills),
        "rejects": len(record.rejects),
        "fees": str(sum((quote_fees(fill) for fill in record.fills), ZERO)),
        "bars": record.bars,
        "bars_per_second": round(record.bars / record.elapsed_s) if record.elapsed_s > 0 else None,
        "elapsed_s": round(record.elapsed_s, 3),
        "dead_letters": record.dead_letters,
        "gaps": record.gaps,
        "strategies": _per_strategy(accounts := _per_account(record), record.starting_cash),
        "accounts": accounts,
    }


def moved_indices(equity: list[Decimal]) -> list[int]:
    """The indices of the values that differ from the one before (compared in C): a flat position's bars do not,
    and drawdown and Sharpe skip the work on those."""
    return list(itertools.compress(range(1, len(equity)), map(operator.ne, equity[1:], equity)))


def max_drawdown_pct(equity: list[Decimal], moved: list[int]) -> float:
    # a bar whose equity did not move keeps the bar before's peak and drawdown: only the moves are converted
    moves = [float(value) for value in equity[:1]] + [float(equity[index]) for index in moved]
    peak, worst = -math.inf, 0.0
    for now in moves:
        peak = max(peak, now)
        if peak > 0:
            worst = max(worst, (peak - now) / peak)
    return worst * 100


def sharpe(equity: list[Decimal], moved: list[int], bar_ms: int) -> float:
    """Annualised from per-bar simple returns (risk-free rate 0); 0 when equity never moved. `moved` are
    `moved_indices(equity)`."""
    returns = _returns(equity, moved)
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) ** 2 for value in returns) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(MS_PER_YEAR / bar_ms)


def _returns(equity: list[Decimal], moved: list[int]) -> list[float]:
    """Each bar's simple return on the bar before, none after a zero equity. An unchanged equity's return is 0.0
    exactly, so only the bars that moved (a flat position's bars do not) pay a Decimal division."""
    returns = [0.0] * max(len(equity) - 1, 0)
    for index in moved:
        if before := equity[index - 1]:
            returns[index - 1] = float(equity[index] / before - 1)
    return list(itertools.compress(returns, equity))  # the return after a bar is kept when that bar's equity is not 0


def quote_fees(fill: OrderFilled) -> Decimal:
    """The quote and base-asset commissions valued in the quote (as the book's `fees`); other assets aside."""
    return fill.fee + fill.fee_base * fill.price


def _all_accounts(record: RunRecord) -> set[tuple[str, str, str]]:
    return set(record.accounts) | {(f.strategy, f.exchange, f.symbol) for f in record.fills}


def _per_account(record: RunRecord) -> list[dict[str, Any]]:
    rows = []
    for account in sorted(_all_accounts(record)):
        strategy, exchange, symbol = account
        fills = [f for f in record.fills if (f.strategy, f.exchange, f.symbol) == account]
        cash = record.starting_cash + sum((f.cash_change for f in fills), ZERO)
        position = sum((f.position_change for f in fills), ZERO)
        series = record.closes.get((exchange, symbol))
        last_close = series[-1][1] if series else ZERO
        rows.append(
            {
                "strategy": strategy,
                "exchange": exchange,
                "symbol": symbol,
                "trades": len(fills),
                "rejects": sum(1 for r in record.rejects if (r.strategy, r.exchange, r.symbol) == account),
                "fees": str(sum((quote_fees(f) for f in fills), ZERO)),
                "position": str(position),
                "pnl": str(cash + position * last_close - record.starting_cash),
            }
        )
    return rows


def _per_strategy(accounts: list[dict[str, Any]], starting_cash: Decimal) -> list[dict[str, Any]]:
    """Each strategy's sub-accounts added up, with its return on its own starting cash (strategies side by side)."""
    rows: dict[str, dict[str, Any]] = {}
    for account in accounts:
        row = rows.setdefault(
            account["strategy"], {"strategy": account["strategy"], "symbols": 0, "trades": 0, "pnl": ZERO, "fees": ZERO}
        )
        row["symbols"] += 1
        row["trades"] += account["trades"]
        row["pnl"] += Decimal(account["pnl"])
        row["fees"] += Decimal(account["fees"])
    return [
        {
            **row,
            "pnl": str(row["pnl"]),
            "fees": str(row["fees"]),
            "return_pct": round(float(row["pnl"] / (starting_cash * row["symbols"]) * 100), 4)
            if starting_cash
            else 0.0,
        }
        for _, row in sorted(rows.items())
    ]


def write_summary_json(summary: dict[str, Any], path: Path) -> None:
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
