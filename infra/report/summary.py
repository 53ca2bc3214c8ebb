"""summary.json: PnL, return, drawdown, Sharpe, costs and throughput of a run, overall and per sub-account."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from events.models import OrderFilled
from events.timeframes import TIMEFRAME_MS
from infra.report.equity import EquityPoint
from infra.report.record import RunRecord

ZERO = Decimal(0)
MS_PER_YEAR = 365 * 24 * 3600 * 1000


def summarize(record: RunRecord, curve: list[EquityPoint], timeframe: str = "1m") -> dict[str, Any]:
    starting = record.starting_cash * len(_all_accounts(record))
    final = curve[-1].equity if curve else starting
    pnl = final - starting
    return {
        "starting_equity": str(starting),
        "final_equity": str(final),
        "pnl": str(pnl),
        "return_pct": round(float(pnl / starting * 100), 4) if starting else 0.0,
        "max_drawdown_pct": round(max_drawdown_pct(curve), 4),
        "sharpe": round(sharpe(curve, TIMEFRAME_MS[timeframe]), 4),
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


def max_drawdown_pct(curve: list[EquityPoint]) -> float:
    peak, worst = -math.inf, 0.0
    for point in curve:
        equity = float(point.equity)
        peak = max(peak, equity)
        if peak > 0:
            worst = max(worst, (peak - equity) / peak)
    return worst * 100


def sharpe(curve: list[EquityPoint], bar_ms: int) -> float:
    """Annualised from per-bar simple returns (risk-free rate 0); 0 when equity never moved."""
    pairs = itertools.pairwise(point.equity for point in curve)
    # an unchanged equity's return is 0.0 exactly, without the Decimal division (a flat position's every bar)
    returns = [0.0 if now == before else float(now / before - 1) for before, now in pairs if before]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) ** 2 for value in returns) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(MS_PER_YEAR / bar_ms)


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
