"""Money on the terminal: exact amounts rounded to the quote asset's places (cents for USDT, 8 places for BTC) in
every table the CLI prints, while summary.json keeps them exact."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import build_portfolio
from events.models import OrderFilled
from infra.cli.options import print_summary
from infra.report.finished_run import FinishedRun
from infra.report.money import money, places_for
from infra.report.summary import summarize, write_summary_json

ODD_PRICE = Decimal("101.23456789")
CLOSES = [Decimal(c) for c in ("100.987654321", "104.1111111", "99.3333333", "103.7777777", "98.0000001")]


def summary_for(symbol: str) -> dict[str, object]:
    closes = {("binance", symbol): [(n * 60_000, close) for n, close in enumerate(CLOSES)]}
    fills = [
        OrderFilled(
            order_id=f"o{n}",
            strategy="sma",
            exchange="binance",
            symbol=symbol,
            side=side,
            qty=Decimal("3.123456789"),
            bar_open_time_ms=n * 60_000,
            price=CLOSES[n],
            fee=Decimal("0.0123456789"),
        )
        for n, side in ((0, "buy"), (1, "sell"), (2, "buy"))
    ]
    run = FinishedRun(
        Decimal(10_000), [("sma", "binance", symbol)], closes, fills, [], len(CLOSES), 1.0, timeframe="1m"
    )
    return summarize(run, build_portfolio(run.starting_cash_by_account(), Timeline.of(run.closes), run.fills))


def test_the_reported_example_is_shown_in_cents() -> None:
    assert money("-7927.730478005052662") == "-7,927.73"
    assert money("0.005") == "0.00" and money("0.015") == "0.02"  # half to even, as Decimal rounds
    assert money("-0.001") == "0.00"  # never a negative zero
    assert money("-0.00001234", 8) == "-0.00001234"


def test_a_crypto_quote_is_shown_to_8_places_and_a_stablecoin_to_cents() -> None:
    assert places_for(["ETH/BTC"]) == 8 and places_for(["BTC/USDT", "SOL/USDC"]) == 2
    assert places_for(["BTC/USDT", "ETH/BTC"]) == 8  # a mixed run shows every quote exactly enough
    assert places_for([]) == 2 and places_for(["BTC/USDT:USDT"]) == 2


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=12), st.sampled_from([2, 8]))
def test_a_shown_amount_is_the_exact_one_within_half_its_last_place(amount: Decimal, places: int) -> None:
    shown = money(amount, places)
    assert re.fullmatch(rf"-?\d{{1,3}}(,\d{{3}})*\.\d{{{places}}}", shown)
    assert abs(Decimal(shown.replace(",", "")) - amount) <= Decimal(1).scaleb(-places) / 2


@pytest.mark.parametrize(("symbol", "places"), [("BTC/USDT", 2), ("ETH/BTC", 8)])
def test_the_printed_report_rounds_money_and_summary_json_keeps_it_exact(
    symbol: str, places: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = summary_for(symbol)
    print_summary(summary, tmp_path, chart=False)
    printed = capsys.readouterr().out
    for name in ("pnl", "capital", "max drawdown", "fees"):
        exact = Decimal(str(summary[name.replace(" ", "_")]))
        assert re.search(rf"^ *{name}  {re.escape(money(exact, places))}$", printed, re.MULTILINE), name
    assert len(str(summary["pnl"]).partition(".")[2]) > places  # the case is one that needs rounding
    (strategy,) = summary["strategies"]  # type: ignore[misc]
    strategy_cells = printed.split("\n\n")[0].splitlines()[-1].split()
    for name in ("capital", "pnl", "max_drawdown", "fees"):
        assert money(strategy[name], places) in strategy_cells, name
    total = summary["trade_statistics"]["total"]  # type: ignore[index]
    assert money(total["profit"], places) in printed.split("TOTAL")[1].split()
    write_summary_json(summary, tmp_path / "summary.json")
    assert orjson.loads((tmp_path / "summary.json").read_bytes())["pnl"] == summary["pnl"]
    assert Decimal(str(summary["pnl"])) == sum(
        (Decimal(row["pnl"]) for row in summary["accounts"]),  # type: ignore[attr-defined]
        Decimal(0),
    )
