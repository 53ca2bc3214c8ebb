"""chart.png stays readable at the size of the shared multi-symbol set (94 symbols × 5 strategies): strategies
side by side as returns, legends beside the plots rather than on them, and no price panel of 94 symbols."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from matplotlib.colors import to_hex

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import Portfolio, build_portfolio
from events.models import OrderFilled
from infra.report.chart import draw_chart, write_chart
from infra.report.colours import PALETTE, strategy_colours
from infra.report.finished_run import FinishedRun

STRATEGIES = ["sma_fast", "sma_slow", "donchian", "bollinger", "momentum"]
MINUTE = 60_000


def many_markets(symbols: int = 94, minutes: int = 120) -> FinishedRun:
    """Synthetic, labelled so: prices spread from 0.0008 to 95,000 like the shared set, a fill every 30 minutes."""
    closes = {}
    fills = []
    for n in range(symbols):
        base = 0.0008 * (95_000 / 0.0008) ** (n / max(symbols - 1, 1))
        series = [(t * MINUTE, Decimal(f"{base * (1 + 0.01 * math.sin(t / 7 + n)):.8g}")) for t in range(minutes)]
        closes[("binance", f"S{n}/USDT")] = series
        for k, strategy in enumerate(STRATEGIES):
            for t in range(k, minutes, 30):
                side = "buy" if (t // 30) % 2 == 0 else "sell"
                price = series[t][1]
                fills.append(
                    OrderFilled(
                        order_id=f"{strategy}-{n}-{t}",
                        strategy=strategy,
                        exchange="binance",
                        symbol=f"S{n}/USDT",
                        side=side,
                        qty=Decimal(1),
                        bar_open_time_ms=t * MINUTE,
                        price=price,
                        fee=price / 1000,
                    )
                )
    fills.sort(key=lambda fill: fill.bar_open_time_ms)
    accounts = [(strategy, "binance", f"S{n}/USDT") for strategy in STRATEGIES for n in range(symbols)]
    return FinishedRun(Decimal(100_000), accounts, closes, fills, [], symbols * minutes, 1.0)


def portfolio_of(record: FinishedRun) -> Portfolio:
    return build_portfolio(record.starting_cash_by_account(), Timeline.of(record.closes), record.fills)


def test_many_markets_give_strategy_returns_and_earnings_with_legends_off_the_plots(tmp_path: Path) -> None:
    record = many_markets()
    figure = draw_chart(record, portfolio_of(record))
    figure.canvas.draw()
    returns, earnings = figure.axes
    assert [line.get_label().split(" (")[0] for line in returns.get_lines()][:5] == sorted(STRATEGIES)
    assert [tick.get_text() for tick in earnings.get_yticklabels()] == sorted(STRATEGIES)  # not 94 symbols
    renderer = figure.canvas.get_renderer()
    for axes in (returns, earnings):
        legend = axes.get_legend().get_window_extent(renderer)
        assert not legend.overlaps(axes.get_window_extent(renderer))
    write_chart(record, portfolio_of(record), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000


def test_one_market_keeps_its_price_with_the_fills() -> None:
    record = many_markets(symbols=1)
    figure = draw_chart(record, portfolio_of(record))
    _, price = figure.axes
    assert price.get_ylabel() == "price"
    assert len(price.collections) == 2  # buys and sells


def test_the_title_says_what_traded_and_each_strategy_keeps_its_colour() -> None:
    record = many_markets(symbols=4)
    traded = [fill for fill in record.fills if fill.strategy in ("sma_fast", "donchian") and fill.symbol == "S1/USDT"]
    record = replace(record, fills=traded)
    figure = draw_chart(record, portfolio_of(record))
    title = figure.get_suptitle()
    assert title.startswith("STDS run: donchian, sma_fast (of 5) traded 1 of 4 markets") and "round trips" in title
    returns, _ = figure.axes
    colours = strategy_colours(STRATEGIES)
    for line in returns.get_lines()[:5]:
        assert to_hex(line.get_color()).upper() == colours[line.get_label().split(" (")[0]].upper()
    assert len(set(colours.values())) == len(STRATEGIES)  # no two strategies of a run share one
    assert strategy_colours(reversed(STRATEGIES)) == colours  # whatever order they are met in


def test_colours_stay_distinct_even_where_names_hash_alike() -> None:
    names = [f"s{n}" for n in range(len(PALETTE))]
    assert sorted(strategy_colours(names).values()) == sorted(PALETTE)
    alone = strategy_colours(["reversion"])["reversion"]
    assert strategy_colours(["trend_1h"])["trend_1h"] == alone  # these two names hash to the same slot
    together = strategy_colours(["trend_1h", "reversion"])
    assert together["reversion"] == alone and together["trend_1h"] != alone  # the later name moves on


def test_buys_are_drawn_over_the_sells() -> None:
    record = many_markets(symbols=1)
    _, price = draw_chart(record, portfolio_of(record)).axes
    sells, buys = price.collections
    assert (sells.get_label(), buys.get_label()) == ("sell", "buy") and buys.get_zorder() > sells.get_zorder()
    assert len(sells.get_facecolors()) == 0 or sells.get_facecolors()[0][3] == 0  # hollow: a buy under it shows
