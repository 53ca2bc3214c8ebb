"""A run's report: trades.csv, equity.csv, summary.json and chart.png in one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import build_portfolio
from infra.report.equity import write_equity_csv
from infra.report.finished_run import FinishedRun
from infra.report.summary import summarize, write_summary_json
from infra.report.trades import write_trades_csv


def write_report(run: FinishedRun, out_dir: Path, *, chart: bool = True) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    portfolio = build_portfolio(run.starting_cash_by_account(), Timeline.of(run.closes), run.fills)
    summary = summarize(run, portfolio)
    write_trades_csv(run.fills, out_dir / "trades.csv")
    write_equity_csv(portfolio.curve, out_dir / "equity.csv")
    write_summary_json(summary, out_dir / "summary.json")
    if chart:
        from infra.report.chart import write_chart  # matplotlib is slow to import; only when drawing

        write_chart(run, portfolio, out_dir / "chart.png")
    return summary
