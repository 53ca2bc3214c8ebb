"""Shared fixtures: where the recorded market data lives (read-only), and small bar builders."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from events.models import BarClosed

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BTCUSDT_SPOT_DAY = SHARED_DATA / "binance/spot/klines/1m/BTCUSDT/BTCUSDT-1m-2023-01-21.csv"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"recorded data not found at {SHARED_DATA}: the repo must sit beside shared/")
    return SHARED_DATA


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    """The last line a refused command wrote to stderr, with no traceback before it, holding each needle."""
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error
    last = error.splitlines()[-1]
    assert all(needle in last for needle in needles), last
    return last


def spot_day_bars(limit: int | None = None) -> list[BarClosed]:
    """The real BTCUSDT spot bars of 2023-01-21, read with nothing but the csv module."""
    bars: list[BarClosed] = []
    with BTCUSDT_SPOT_DAY.open() as handle:
        for row in csv.reader(handle):
            bars.append(
                BarClosed(
                    exchange="binance",
                    symbol="BTC/USDT",
                    timeframe="1m",
                    open_time_ms=int(row[0]),
                    close_time_ms=int(row[6]),
                    open=Decimal(row[1]),
                    high=Decimal(row[2]),
                    low=Decimal(row[3]),
                    close=Decimal(row[4]),
                    volume=Decimal(row[5]),
                    quote_volume=Decimal(row[7]),
                    trades=int(row[8]),
                )
            )
            if limit is not None and len(bars) == limit:
                break
    return bars


pytest_plugins = ["tests.emulators.fixtures"]
