"""The stitched out-of-sample equity: each fold's chosen set on its test window, chained so that each window starts
where the one before ended (returns compounded), as trading the walk-forward's choices would have gone."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.report.trades import iso_utc
from infra.research.grid import describe
from infra.research.items import SweepItem, SweepLine, run_items
from infra.research.results import Row
from infra.research.workers import Bars

STITCHED_PLACES = Decimal("0.00000001")  # a chained (scaled) equity is a research figure, not a balance


@dataclass(frozen=True)
class StitchedPoint:
    time_ms: int
    fold: int
    params: str
    equity: Decimal  # the fold's own run, from its starting cash
    stitched: Decimal  # to STITCHED_PLACES


def stitched_equity(bars: Bars, line: SweepLine, chosen: list[Row]) -> list[StitchedPoint]:
    """Re-runs each chosen set on its test window (the same item the sweep ran) to get its equity at every bar."""
    points: list[StitchedPoint] = []
    carry: Decimal | None = None
    for row in chosen:
        if row.fold.test is None or not isinstance(row.out_of_sample, dict):
            continue
        item = SweepItem(row.set_index, row.params, row.fold.test)
        (outcome,) = run_items(bars.within(row.fold.test), line, [item], keep_equity=True)
        if outcome.equity is None or outcome.summary is None:
            continue
        starting = Decimal(outcome.summary["starting_equity"])
        carry = starting if carry is None else carry
        times_ms, equity = outcome.equity
        scale = carry / starting
        label = describe(row.params)
        points += [
            StitchedPoint(time_ms, row.fold.number, label, value, (value * scale).quantize(STITCHED_PLACES))
            for time_ms, value in zip(times_ms, equity, strict=True)
        ]
        carry = points[-1].stitched if points else carry
    return points


def write_stitched_csv(points: list[StitchedPoint], path: Path) -> None:
    stamps = [iso_utc(point.time_ms) for point in points]
    lines = [f"{stamp},{p.fold},{p.params},{p.equity},{p.stitched}" for stamp, p in zip(stamps, points, strict=True)]
    path.write_text("\n".join(["time,fold,chosen,equity,stitched_equity", *lines, ""]))


def write_stitched_png(points: list[StitchedPoint], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from datetime import UTC, datetime

    import matplotlib.pyplot as plt

    times = [datetime.fromtimestamp(p.time_ms / 1000, tz=UTC) for p in points]
    figure, panel_ = plt.subplots(figsize=(10, 4), constrained_layout=True)
    panel: Any = panel_  # matplotlib's stubs take no datetimes, which it plots
    starts = [0] + [index for index in range(1, len(points)) if points[index].fold != points[index - 1].fold]
    for start, stop in zip(starts, [*starts[1:], len(points)], strict=True):  # each test window its own line
        values = [float(p.stitched) for p in points[start:stop]]
        panel.plot(times[start:stop], values, linewidth=0.9, color="tab:blue")
        if start:
            panel.axvline(times[start], color="grey", linewidth=0.6, linestyle=":")
    panel.set_title(title, fontsize=10)
    panel.set_ylabel("equity (quote)")
    panel.grid(alpha=0.3)
    figure.savefig(path, dpi=90)
    plt.close(figure)
