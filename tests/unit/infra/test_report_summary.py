"""summary.json's headline figures: judged on the capital of the sub-accounts that traded, and annualised by the
run's own bar length."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import build_portfolio
from events.models import OrderFilled
from infra.report.finished_run import FinishedRun
from infra.report.summary import summarize

MARKETS = [("binance", "BTC/USDT"), ("binance", "ETH/USDT"), ("binance", "SOL/USDT")]
CLOSES = [Decimal(c) for c in ("100", "104", "99", "103", "101", "106", "100")]


def record(step_ms: int, timeframe: str) -> FinishedRun:
    closes = {market: [(n * step_ms, close) for n, close in enumerate(CLOSES)] for market in MARKETS}
    buy = OrderFilled(
        order_id="o1", strategy="sma", exchange="binance", symbol="BTC/USDT", side="buy", qty=Decimal(10),
        bar_open_time_ms=0, price=Decimal(100), fee=Decimal(1),
    )  # fmt: skip
    accounts = [("sma", *market) for market in MARKETS]
    return FinishedRun(Decimal(10_000), accounts, closes, [buy], [], 3 * len(CLOSES), 1.0, timeframe=timeframe)


def summary_of(run: FinishedRun) -> dict[str, object]:
    return summarize(run, build_portfolio(run.starting_cash_by_account(), Timeline.of(run.closes), run.fills))


def test_the_return_is_on_the_capital_of_the_sub_accounts_that_traded() -> None:
    summary = summary_of(record(60_000, "1m"))
    assert (summary["starting_equity"], summary["capital"], summary["pnl"]) == ("30000", "10000", "-1")
    assert summary["return_pct"] == -0.01 and summary["return_on_starting_equity_pct"] == -0.0033
    # the idle 20,000 dilute nothing: BTC's sub-account fell from 10,059 (at 106) to 9,999 (at 100)
    assert summary["max_drawdown"] == "60" and summary["max_drawdown_pct"] == round(60 / 10_059 * 100, 4)
    (strategy,) = summary["strategies"]  # type: ignore[misc]
    assert (strategy["symbols"], strategy["symbols_traded"], strategy["capital"]) == (3, 1, "10000")


def test_the_same_bars_at_1m_and_at_1h_give_sharpe_annualised_by_their_own_length() -> None:
    minute, hour = summary_of(record(60_000, "1m")), summary_of(record(3_600_000, "1h"))
    assert minute["timeframe"] == "1m" and hour["timeframe"] == "1h"
    assert math.isclose(float(minute["sharpe"]) / float(hour["sharpe"]), math.sqrt(60), rel_tol=1e-3)  # type: ignore[arg-type]
    assert math.isclose(float(minute["sortino"]) / float(hour["sortino"]), math.sqrt(60), rel_tol=1e-3)  # type: ignore[arg-type]
    assert replace(record(60_000, "1m"), timeframe="1h").timeframe == "1h"
