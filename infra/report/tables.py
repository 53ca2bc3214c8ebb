"""The end of `stds replay` and `stds run`: the summary's figures as text tables, freqtrade-style: strategies
side by side, then the round trips per pair, per day and per week (the longest tables cut, summary.json has all)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.report.money import money, places_for

MAX_ROWS = 15


def summary_tables(summary: dict[str, Any]) -> str:
    places = summary_places(summary)
    parts = []
    strategies = summary.get("strategies", [])
    if strategies:
        parts.append(
            _table(
                "STRATEGIES (return, drawdown, Sharpe and Sortino on the capital of the sub-accounts that traded)",
                [
                    "strategy",
                    "traded",
                    "capital",
                    "pnl",
                    "return %",
                    "max dd",
                    "max dd %",
                    "sharpe",
                    "sortino",
                    "trips",
                    "win %",
                    "profit factor",
                    "fees",
                ],
                [
                    [
                        row["strategy"],
                        f"{row['symbols_traded']}/{row['symbols']}",
                        money(row["capital"], places),
                        money(row["pnl"], places),
                        row["return_pct"],
                        money(row["max_drawdown"], places),
                        row["max_drawdown_pct"],
                        row["sharpe"],
                        row["sortino"],
                        row["round_trips"],
                        row["win_rate_pct"],
                        row["profit_factor"],
                        money(row["fees"], places),
                    ]
                    for row in strategies
                ],
            )
        )
    statistics = summary.get("trade_statistics")
    if statistics and statistics["total"]["round_trips"]:
        for title, rows in (
            ("ROUND TRIPS PER PAIR", statistics["per_pair"]),
            ("PER DAY (closed, UTC)", statistics["per_day"]),
            ("PER WEEK", statistics["per_week"]),
            ("TOTAL", {"all": statistics["total"]}),
        ):
            parts.append(_trip_table(title, rows, places))
    return "\n\n".join(parts)


def _trip_table(title: str, rows: dict[str, dict[str, Any]], places: int) -> str:
    names = list(rows)
    if len(names) > MAX_ROWS:  # the pairs that moved the most money, or the latest days and weeks
        if title.startswith("ROUND TRIPS PER PAIR"):
            names = sorted(names, key=lambda name: -abs(float(rows[name]["profit"])))[:MAX_ROWS]
        else:
            names = names[-MAX_ROWS:]
        title += f" ({len(names)} of {len(rows)} shown; all in summary.json)"
    return _table(
        title,
        [
            "",
            "trips",
            "win %",
            "wins/draws/losses",
            "profit",
            "avg %",
            "profit factor",
            "avg duration",
            "max duration",
            "best %",
            "worst %",
        ],
        [
            [
                name,
                row["round_trips"],
                row["win_rate_pct"],
                f"{row['wins']}/{row['draws']}/{row['losses']}",
                money(row["profit"], places),
                row["avg_profit_pct"],
                row["profit_factor"],
                _duration(row["avg_duration_s"]),
                _duration(row["max_duration_s"]),
                row["best_pct"],
                row["worst_pct"],
            ]
            for name, row in ((name, rows[name]) for name in names)
        ],
    )


def summary_places(summary: dict[str, Any]) -> int:
    """The places a run's money is shown to: those of its sub-accounts' quote assets."""
    return places_for(account["symbol"] for account in summary.get("accounts", ()))


def _table(title: str, header: Sequence[str], rows: list[list[Any]]) -> str:
    cells = [[str(header_cell) for header_cell in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    lines = [title]
    for number, row in enumerate(cells):
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours:02d}:{rest // 60:02d}" if days else f"{hours}:{rest // 60:02d}"
