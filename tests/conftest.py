"""Shared fixtures: where the recorded market data lives (read-only), small bar builders, and how hypothesis runs."""

from __future__ import annotations

import csv
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from events.models import BarClosed

# Hypothesis never judges a test by the wall clock (no deadline, no "too slow" health check): the suite runs beside
# a JVM on two shared cores, where a slow example says nothing about the code. On CI (`CI` set) every property test
# without its own count tries more examples, and a failure prints the blob that replays its example exactly.
_UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("local", _UNTIMED)
settings.register_profile("ci", _UNTIMED, max_examples=400, print_blob=True, derandomize=False)
settings.load_profile("ci" if os.environ.get("CI") else "local")

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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """One hypothesis seed for the whole session, drawn here unless `--hypothesis-seed` gave one (before hypothesis'
    own plugin reads that option), and the controller's on every xdist worker: each property test of the run is
    then replayed by that one seed, which the header and any failure print."""
    if config.getoption("hypothesis_seed", None) is None:
        from_controller = getattr(config, "workerinput", {}).get("hypothesis_seed")
        config.option.hypothesis_seed = from_controller or str(random.SystemRandom().randrange(2**32))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's controller, before it starts a worker: hand it the session's seed."""
    node.workerinput["hypothesis_seed"] = node.config.getoption("hypothesis_seed")


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis seed {config.getoption('hypothesis_seed')}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if terminalreporter.stats.get("failed"):
        seed = config.getoption("hypothesis_seed")
        terminalreporter.write_line(
            f"hypothesis seed of this run: {seed} (to replay it: pytest --hypothesis-seed={seed})"
        )


pytest_plugins = ["tests.emulators.fixtures"]
