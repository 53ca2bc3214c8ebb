"""chart.png: price with fills marked, position per sub-account, and total equity, on one time axis."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from infra.report.equity import EquityPoint
from infra.report.record import RunRecord

MAX_LINE_POINTS = 4_000  # lines are thinned to this; fill markers never are


def write_chart(record: RunRecord, curve: list[EquityPoint], path: Path) -> None:
    figure, (prices, positions, equity) = plt.subplots(
        3, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1.5]}
    )
    for (exchange, symbol), series in record.closes.items():
        times, closes = _thin([_date(t) for t, _ in series], [float(c) for _, c in series])
        prices.plot(times, closes, linewidth=0.8, label=f"{symbol} ({exchange})")
        for side, marker, colour in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
            fills = [f for f in record.fills if f.symbol == symbol and f.exchange == exchange and f.side == side]
            if fills:
                prices.scatter(
                    [_date(f.bar_open_time_ms) for f in fills],
                    [float(f.price) for f in fills],
                    marker=marker,
                    color=colour,
                    s=22,
                    zorder=3,
                    label=f"{side} {symbol}",
                )
    prices.set_ylabel("price")
    prices.legend(loc="upper left", fontsize=8, ncol=2)
    prices.grid(alpha=0.3)

    accounts = sorted({account for point in curve for account in point.positions})
    for account in accounts:
        times, held = _thin([_date(p.time_ms) for p in curve], [float(p.positions.get(account, 0)) for p in curve])
        positions.step(times, held, where="post", linewidth=0.9, label=f"{account[0]} {account[2]}")
    positions.set_ylabel("position")
    if accounts:
        positions.legend(loc="upper left", fontsize=8, ncol=3)
    positions.grid(alpha=0.3)

    times, values = _thin([_date(p.time_ms) for p in curve], [float(p.equity) for p in curve])
    equity.plot(times, values, color="tab:purple", linewidth=1.0)
    equity.set_ylabel("equity (quote)")
    equity.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    equity.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]

    strategies = ", ".join(sorted({a[0] for a in record.accounts})) or "no strategy"
    figure.suptitle(f"STDS run: {strategies} — {len(record.fills)} fills over {record.bars:,} bars")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _date(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def _thin(times: list[datetime], values: list[float]) -> tuple[list[datetime], list[float]]:
    step = max(1, len(times) // MAX_LINE_POINTS)
    return times[::step], values[::step]
