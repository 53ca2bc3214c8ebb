"""Shared fixtures: where the recorded market data lives (read-only), small bar builders, and how hypothesis runs."""

from __future__ import annotations

import csv
import functools
import os
import random
import threading
import time
from collections.abc import Callable
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
FUTURES_1M = SHARED_DATA / "binance/futures/um/klines/1m"  # one folder per market, one CSV per day


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


class ManualClock:
    """A monotonic clock that moves only when a test says (`advance`), for code that waits by a `Clock`
    (producers.streamer.clock): a test waits for the code to be parked, not for time to pass."""

    def __init__(self) -> None:
        self.now = 0.0
        self._state = threading.Condition()
        self._parked: list[tuple[threading.Condition, float | None]] = []  # who waits on this clock, until when

    def monotonic(self) -> float:
        return self.now

    def wait(self, condition: threading.Condition, deadline: float | None) -> None:
        with self._state:
            if deadline is not None and deadline <= self.now:
                return
            parked = (condition, deadline)
            self._parked.append(parked)
            self._state.notify_all()
        try:
            condition.wait()  # until the code notifies it, or advance() does
        finally:
            with self._state:
                self._parked.remove(parked)

    def advance(self, seconds: float) -> None:
        with self._state:
            self.now += seconds
            waiting = [condition for condition, _ in self._parked]
        for condition in waiting:
            with condition:
                condition.notify_all()

    def until_parked(self, deadline: float | None) -> None:
        """Return once something waits on this clock until `deadline` (None: for a notification only); a hang
        guard, not a timing: it fails only if the code never gets there."""
        with self._state:
            if not self._state.wait_for(lambda: any(d == deadline for _, d in self._parked), timeout=HANG_S):
                raise AssertionError(f"nothing parked until {deadline} within {HANG_S} s: {self._parked}")


HANG_S = 60.0  # how long a test waits for a thread or process that should get somewhere before calling it hung


def eventually(condition: Callable[[], object], what: str, hang_s: float = HANG_S) -> None:
    """Return once `condition()` holds: something another process or thread does, polled. A hang guard, not a
    timing: it fails (naming `what`) only if that never happens."""
    deadline = time.monotonic() + hang_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {hang_s} s")
        time.sleep(0.01)


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


@functools.cache
def first_spot_bar() -> BarClosed:
    """The first bar of `spot_day_bars()`: 2023-01-21 00:00, BTC/USDT on Binance spot."""
    return spot_day_bars(limit=1)[0]


pytest_plugins = ["tests.emulators.fixtures"]
