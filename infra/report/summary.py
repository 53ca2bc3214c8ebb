"""summary.json: PnL, return, drawdown, Sharpe, costs and throughput of a run, overall and per sub-account, all
read from the portfolio ledger."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from consumers.ledger.account import AccountLedger
from consumers.ledger.performance import bar_returns, max_drawdown, max_drawdown_pct, moved_indices, sharpe, sortino
from consumers.ledger.portfolio import Portfolio
from consumers.ledger.statistics import trade_statistics, trip_table
from events.models import OrderRejected
from events.timeframes import periods_per_year
from infra.report.finished_run import FinishedRun

ZERO = Decimal(0)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:E[+-]?\d+)?")


def summarize(run: FinishedRun, portfolio: Portfolio) -> dict[str, Any]:
    """The run's headline figures on the capital actually given: the starting cash of the sub-accounts that
    traded (a strategy subscribed to 94 symbols that traded 2 is judged on those 2), overall and per strategy."""
    ledgers = portfolio.accounts.values()
    starting = sum((ledger.starting_cash for ledger in ledgers), ZERO)
    equity = portfolio.curve.equity
    final = equity[-1] if equity else starting
    pnl = final - starting
    capital = sum((ledger.starting_cash for ledger in ledgers if ledger.fills), ZERO)
    book_risk = _risk(equity, portfolio.curve.floats, starting - capital, run.timeframe)
    return {
        "starting_equity": str(starting),
        "capital": str(capital),
        "final_equity": str(final),
        "pnl": str(pnl),
        "return_pct": _pct(pnl, capital),
        "return_on_starting_equity_pct": _pct(pnl, starting),
        **book_risk,
        "timeframe": run.timeframe,
        "trades": len(run.fills),
        "round_trips": len(portfolio.round_trips),
        "rejects": len(run.rejects),
        "rejects_by_reason": rejects_by_reason(run.rejects),
        "fees": str(sum((ledger.fees_quote for ledger in ledgers), ZERO)),
        "fees_by_asset": _fees_by_asset(ledgers),
        "bars": run.bars,
        "bars_per_second": round(run.bars / run.elapsed_s) if run.elapsed_s > 0 else None,
        "elapsed_s": round(run.elapsed_s, 3),
        "dead_letters": run.dead_letters,
        "gaps": run.gaps,
        "warnings": run.warnings,
        "strategies": _per_strategy(portfolio, run.timeframe, (starting - capital, book_risk)),
        "trade_statistics": trade_statistics(portfolio.round_trips),
        "accounts": _per_account(run, portfolio),
    }


def _pct(amount: Decimal, base: Decimal) -> float:
    return round(float(amount / base * 100), 4) if base else 0.0


def _risk(equity: list[Decimal], floats: list[float], idle_cash: Decimal, timeframe: str) -> dict[str, Any]:
    """Drawdown, Sharpe and Sortino of the equity of the sub-accounts that traded (the idle ones' cash, which
    never moves, taken out, so it dilutes nothing), annualised by the bars of `timeframe` a year holds. `floats`:
    the same equity in float arithmetic, that the per-bar returns are taken of."""
    used = [value - idle_cash for value in equity] if idle_cash else equity
    used_floats = list(map(float(idle_cash).__rsub__, floats)) if idle_cash else floats
    moved = moved_indices(used)
    returns = bar_returns(used, used_floats)
    periods = periods_per_year(timeframe)
    return {
        "max_drawdown": str(max_drawdown(used, moved)),
        "max_drawdown_pct": round(max_drawdown_pct(used, moved), 4),
        "sharpe": round(sharpe(returns, periods), 4),
        "sortino": round(sortino(returns, periods), 4),
    }


def _fees_by_asset(ledgers: Iterable[AccountLedger]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for ledger in ledgers:
        for asset, amount in ledger.fees_by_asset.items():
            totals[asset] = totals.get(asset, ZERO) + amount
    return {asset: str(amount) for asset, amount in sorted(totals.items())}


def rejects_by_reason(rejects: list[OrderRejected]) -> dict[str, int]:
    """How many orders were refused for each kind of reason, most first: a reason's words before its first colon,
    or, without one, the reason with its numbers left out ('target position N exceeds max_position N')."""
    counts = Counter(
        reason.partition(":")[0] if ":" in reason else _NUMBER.sub("N", reason)
        for reason in (reject.reason for reject in rejects)
    )
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _per_account(run: FinishedRun, portfolio: Portfolio) -> list[dict[str, Any]]:
    rejects: dict[tuple[str, str, str], int] = {}
    for reject in run.rejects:
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


def _per_strategy(
    portfolio: Portfolio, timeframe: str, book_risk: tuple[Decimal, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each strategy's sub-accounts added up, judged on the capital of those that traded (strategies side by
    side, whatever their sizes). `book_risk` is the whole book's (idle cash, `_risk`): a book of one strategy
    has that strategy's curve (the same list), and its risk is not computed twice (a sweep item's report)."""
    rows = []
    for strategy, ledgers in sorted(portfolio.strategies().items()):
        start = sum((ledger.starting_cash for ledger in ledgers), ZERO)
        capital = sum((ledger.starting_cash for ledger in ledgers if ledger.fills), ZERO)
        pnl = sum((ledger.pnl(portfolio.mark((strategy, ledger.exchange, ledger.symbol))) for ledger in ledgers), ZERO)
        rows.append(
            {
                "strategy": strategy,
                "symbols": len(ledgers),
                "symbols_traded": sum(1 for ledger in ledgers if ledger.fills),
                "capital": str(capital),
                "trades": sum(ledger.fills for ledger in ledgers),
                "round_trips": sum(len(ledger.round_trips) for ledger in ledgers),
                "win_rate_pct": (table := trip_table(t for ledger in ledgers for t in ledger.round_trips))[
                    "win_rate_pct"
                ],
                "profit_factor": table["profit_factor"],
                "pnl": str(pnl),
                "fees": str(sum((ledger.fees_quote for ledger in ledgers), ZERO)),
                "return_pct": _pct(pnl, capital),
                **_risk_of(portfolio, strategy, start - capital, timeframe, book_risk),
            }
        )
    return rows


def _risk_of(
    portfolio: Portfolio, strategy: str, idle_cash: Decimal, timeframe: str, book_risk: tuple[Decimal, dict[str, Any]]
) -> dict[str, Any]:
    curve = portfolio.curve.by_strategy.get(strategy, [])
    book_idle_cash, risk = book_risk
    if curve is portfolio.curve.equity and idle_cash == book_idle_cash:
        return risk
    return _risk(curve, portfolio.curve.floats_by_strategy.get(strategy, []), idle_cash, timeframe)


def write_summary_json(summary: dict[str, Any], path: Path) -> None:
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
