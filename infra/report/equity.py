"""equity.csv: the book's total equity at every bar time of the run."""

from __future__ import annotations

import csv
from pathlib import Path

from consumers.ledger.equity import EquityCurve
from infra.report.trades import iso_utc


def write_equity_csv(curve: EquityCurve, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "equity"])
        writer.writerows(zip(map(iso_utc, curve.times_ms), curve.equity, strict=True))
