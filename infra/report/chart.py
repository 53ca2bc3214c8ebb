"""chart.png: each strategy's return side by side (normalised, so a big and a small strategy read alike), and
below it either one market's price with its fills and positions, or, with several markets, what each strategy
earned before fees, paid in fees and kept. Legends sit outside the plots; per-symbol detail is the dashboard's."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch  # not pyplot: a file needs no window manager (and imports 0.3 s faster)

from consumers.ledger.portfolio import Portfolio
from infra.report.colours import strategy_colours
from infra.report.finished_run import FinishedRun

MAX_LINE_POINTS = 4_000  # lines are thinned to this; fill markers never are
ZERO = Decimal(0)


def write_chart(run: FinishedRun, portfolio: Portfolio, path: Path) -> None:
    figure = draw_chart(run, portfolio)
    figure.savefig(path, dpi=110, bbox_inches="tight")


def draw_chart(run: FinishedRun, portfolio: Portfolio) -> Any:
    single_market = len(run.closes) == 1
    figure = Figure(figsize=(12, 8))
    FigureCanvasAgg(figure)  # draws to pixels, for the PNG (and for tests that measure the layout)
    returns, detail = figure.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]}, sharex=single_market)
    _strategy_returns(returns, portfolio)
    for axes in (returns, detail) if single_market else (returns,):
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if single_market:
        _price_with_fills(detail, run)
    else:
        _earnings_by_strategy(detail, portfolio)
    figure.suptitle(_title(run, portfolio))
    figure.tight_layout()
    return figure


def _title(run: FinishedRun, portfolio: Portfolio) -> str:
    """What traded, out of what was subscribed: '2 of 5 strategies traded 3 of 94 markets — …'."""
    traded = [account for account, ledger in portfolio.accounts.items() if ledger.fills]
    strategies = {account[0] for account in portfolio.accounts}
    traded_strategies = {account[0] for account in traded}
    markets = {(account[1], account[2]) for account in traded}
    names = (
        ", ".join(sorted(traded_strategies)) if len(traded_strategies) <= 3 else f"{len(traded_strategies)} strategies"
    )
    of_strategies = "" if len(traded_strategies) == len(strategies) else f" (of {len(strategies)})"
    trips = len(portfolio.round_trips)
    return (
        f"STDS run: {names or 'no strategy'}{of_strategies} traded {len(markets)} of {len(run.closes)} "
        f"market{'' if len(run.closes) == 1 else 's'} — {len(run.fills):,} fills, {trips:,} round trips, "
        f"{run.bars:,} {run.timeframe} bars"
    )


def _strategy_returns(axes: Any, portfolio: Portfolio) -> None:
    curve = portfolio.curve
    starts = {
        strategy: sum((ledger.starting_cash for ledger in ledgers), ZERO)
        for strategy, ledgers in portfolio.strategies().items()
    }
    times = [_date(time_ms) for time_ms in curve.times_ms]
    colours = strategy_colours(starts)
    for strategy in sorted(starts):
        start = float(starts[strategy])
        values = [(float(equity) / start - 1) * 100 for equity in curve.by_strategy.get(strategy, [])]
        thinned_times, thinned = _thin(times, values)
        label = f"{strategy} ({values[-1]:+.2f} %)" if values else strategy
        axes.plot(thinned_times, thinned, linewidth=1.1, color=colours[strategy], label=label)
    axes.axhline(0, color="grey", linewidth=0.6)
    axes.set_ylabel("return on starting cash (%)")
    axes.grid(alpha=0.3)
    if starts:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _price_with_fills(axes: Any, run: FinishedRun) -> None:
    ((exchange, symbol), series), *_ = run.closes.items()
    times, closes = _thin([_date(t) for t, _ in series], [float(c) for _, c in series])
    axes.plot(times, closes, linewidth=0.8, color="tab:gray", label=f"{symbol} ({exchange})")
    # sells first, hollow, below the buys: a buy and a sell at the same bar both stay visible
    for side, marker, colour, hollow, order in (("sell", "v", "tab:red", True, 3), ("buy", "^", "tab:green", False, 4)):
        fills = [f for f in run.fills if f.side == side]
        if fills:
            axes.scatter(
                [_date(f.bar_open_time_ms) for f in fills],
                [float(f.price) for f in fills],
                marker=marker,
                facecolors="none" if hollow else colour,
                edgecolors=colour,
                linewidths=1.0,
                s=30 if hollow else 22,
                zorder=order,
                label=side,
            )
    axes.set_ylabel("price")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _earnings_by_strategy(axes: Any, portfolio: Portfolio) -> None:
    """Net PnL, and the fees that came out of it, per strategy, marked to each market's last close."""
    net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account, ledger in portfolio.accounts.items():
        net[account[0]] += ledger.pnl(portfolio.mark(account))
        fees[account[0]] += ledger.fees_quote
    names = sorted(net)
    rows = range(len(names))
    colours = [strategy_colours(names)[name] for name in names]
    before = [float(net[n] + fees[n]) for n in names]
    axes.barh([r + 0.2 for r in rows], before, 0.4, color=colours, alpha=0.4)
    axes.barh([r - 0.2 for r in rows], [float(net[n]) for n in names], 0.4, color=colours)
    key = [Patch(color="grey", alpha=0.4, label="before fees (upper bar)"), Patch(color="grey", label="after fees")]
    axes.set_yticks(list(rows), names, fontsize=8)
    axes.axvline(0, color="grey", linewidth=0.6)
    axes.set_xlabel(f"PnL over {len(portfolio.last_close)} markets (quote); fees are the gap between the bars")
    axes.grid(alpha=0.3, axis="x")
    axes.legend(handles=key, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _date(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def _thin(times: list[datetime], values: list[float]) -> tuple[list[datetime], list[float]]:
    step = max(1, len(times) // MAX_LINE_POINTS)
    return times[::step], values[::step]
