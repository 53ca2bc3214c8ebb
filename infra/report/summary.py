"""summary.json: PnL, return, drawdown, Sharpe, costs and throughput of a run, overall and per sub-account, all
read from the portfolio ledger."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from consumers.ledger.performance import max_drawdown_pct, moved_indices, sharpe
from consumers.ledger.portfolio import Portfolio
from events.models import OrderRejected
from events.timeframes import TIMEFRAME_MS
from infra.report.record import RunRecord

ZERO = Decimal(0)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:E[+-]?\d+)?")


def summarize(record: RunRecord, portfolio: Portfolio, timeframe: str = "1m") -> dict[str, Any]:
    ledgers = portfolio.accounts.values()
    starting = sum((ledger.starting_cash for ledger in ledgers), ZERO)
    equity = portfolio.curve.equity
    final = equity[-1] if equity else starting
    pnl = final - starting
    moved = moved_indices(equity)
    accounts = _per_account(record, portfolio)
    return {
        "starting_equity": str(starting),
        "final_equity": str(final),
        "pnl": str(pnl),
        "return_pct": round(float(pnl / starting * 100), 4) if starting else 0.0,
        "max_drawdown_pct": round(max_drawdown_pct(equity, moved), 4),
        "sharpe": round(sharpe(equity, moved, TIMEFRAME_MS[timeframe]), 4),
        "trades": len(record.fills),
        "rejects": len(record.rejects),
        "rejects_by_reason": rejects_by_reason(record.rejects),
        "fees": str(sum((ledger.fees_quote for ledger in ledgers), ZERO)),
        "bars": record.bars,
        "bars_per_second": round(record.bars / record.elapsed_s) if record.elapsed_s > 0 else None,
        "elapsed_s": round(record.elapsed_s, 3),
        "dead_letters": record.dead_letters,
        "gaps": record.gaps,
        "strategies": _per_strategy(portfolio),
        "accounts": accounts,
    }


def rejects_by_reason(rejects: list[OrderRejected]) -> dict[str, int]:
    """How many orders were refused for each kind of reason, most first: a reason's words before its first colon,
    or, without one, the reason with its numbers left out ('target position N exceeds max_position N')."""
    counts = Counter(
        reason.partition(":")[0] if ":" in reason else _NUMBER.sub("N", reason)
        for reason in (reject.reason for reject in rejects)
    )
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _per_account(record: RunRecord, portfolio: Portfolio) -> list[dict[str, Any]]:
    rejects: dict[tuple[str, str, str], int] = {}
    for reject in record.rejects:
        key = (reject.strategy, reject.exchange, reject.symbol)
        rejects[key] = rejects.get(key, 0) + 1
    rows = []
    for account, ledger in portfolio.accounts.items():
        mark = portfolio.mark(account)
        rows.append(
            {
                "strategy": ledger.strategy,
                "exchange": ledger.exchange,
                "symbol": ledger.symbol,
                "trades": ledger.fills,
                "rejects": rejects.get(account, 0),
                "fees": str(ledger.fees_quote),
                "fees_by_asset": {asset: str(amount) for asset, amount in sorted(ledger.fees_by_asset.items())},
                "position": str(ledger.position),
                "pnl": str(ledger.pnl(mark)),
                "realised": str(ledger.realised),
                "unrealised": str(ledger.unrealised(mark)),
                "round_trips": len(ledger.round_trips),
            }
        )
    return rows


def _per_strategy(portfolio: Portfolio) -> list[dict[str, Any]]:
    """Each strategy's sub-accounts added up, with its return on its own starting cash (strategies side by side)."""
    rows = []
    for strategy, ledgers in sorted(portfolio.strategies().items()):
        start = sum((ledger.starting_cash for ledger in ledgers), ZERO)
        pnl = sum((ledger.pnl(portfolio.mark((strategy, ledger.exchange, ledger.symbol))) for ledger in ledgers), ZERO)
        rows.append(
            {
                "strategy": strategy,
                "symbols": len(ledgers),
                "trades": sum(ledger.fills for ledger in ledgers),
                "pnl": str(pnl),
                "fees": str(sum((ledger.fees_quote for ledger in ledgers), ZERO)),
                "return_pct": round(float(pnl / start * 100), 4) if start else 0.0,
            }
        )
    return rows


def write_summary_json(summary: dict[str, Any], path: Path) -> None:
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
