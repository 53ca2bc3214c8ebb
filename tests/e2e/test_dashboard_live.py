"""`stds dashboard` beside a live `stds run` against the local Binance: fills appear on the page as they happen,
without a reload, and Halt on the page makes execution reject the next order."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tests.conftest import BTCUSDT_SPOT_DAY, REPO_ROOT, eventually
from tests.e2e.dashboard_harness import browser, running_dashboard

__all__ = ["browser"]  # the fixture, imported for the test below


@contextlib.contextmanager
def live_run(out: Path) -> Iterator[Path]:
    """A fast-trading sma_cross on a recorded day served at 300× (a bar every 0.2 s)."""
    command = [
        sys.executable, "-m", "infra.cli", "run", "--symbols", "BTC/USDT", "--strategy", "sma_cross",
        "--param", "fast=2", "--param", "slow=4", "--param", "qty=0.1", "--no-print",
        "--local-exchange", str(BTCUSDT_SPOT_DAY), "--speed", "300", "--silence", "2", "--heartbeat", "1",
        "--out", str(out),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = out / "state.sqlite"
    try:
        eventually(lambda: _orders(state) or process.poll() is not None, "no order in the state")
        assert process.poll() is None, f"stds run ended early: {process.stderr.read() if process.stderr else ''}"
        yield state
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_fills_appear_without_a_reload_and_halt_rejects_the_next_order(tmp_path: Path, browser: Any) -> None:
    with live_run(tmp_path / "live") as state, running_dashboard("--db", str(state), "--poll", "0.2") as dashboard:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(dashboard.page_url)
        page.wait_for_selector("#connection.on")
        page.wait_for_function("document.querySelector('#strategies td[data-field=trades]') !== null")
        page.evaluate("window.stillTheSamePage = true")
        first = _trades_shown(page)
        page.wait_for_function(
            f"Number(document.querySelector('#strategies td[data-field=trades]').dataset.value) > {first}"
        )
        assert page.evaluate("window.stillTheSamePage === true && window.stdsPageLoads === 1")
        assert page.locator("#fills tbody tr").count() >= 1
        page.wait_for_selector("#streams tr[data-stream='binance|BTC/USDT|1m'] td[data-field=lag_bars][data-value='0']")

        page.click("#halt")
        page.click("#confirm-yes")  # every mode asks first
        page.wait_for_selector("#kill-switch[data-engaged=true]")
        page.wait_for_selector("#rejects tbody tr", timeout=30_000)
        reason = page.locator("#rejects tbody tr td.reason").first.text_content()
        assert reason == HALTED
        assert page.evaluate("window.stillTheSamePage === true && window.stdsPageLoads === 1")
        page.close()
        # Bars are decided in order and the switch stays engaged: from the first order it rejected, every later
        # one is rejected too. Fills of orders before it may still be committed after the click; they are not later.
        halted_from = _first_halted_bar(state)
        eventually(lambda: _settled_from(state, halted_from + 1), "no order was settled after the first rejected")
    settled = _settled_from(state, halted_from)
    assert {kind for kind, _ in settled} == {"OrderRejected"} and all(reason == HALTED for _, reason in settled)


HALTED = "kill switch engaged: from the dashboard"


def _trades_shown(page: Any) -> int:
    return int(page.locator("#strategies td[data-field=trades]").first.get_attribute("data-value"))


def _orders(state: Path) -> int:
    if not state.exists():
        return 0
    with contextlib.closing(sqlite3.connect(state)) as connection:
        try:
            return int(connection.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
        except sqlite3.OperationalError:  # the run has not created its tables yet
            return 0


def _settlements(state: Path) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(state)) as connection:
        rows = connection.execute("SELECT settlement FROM orders WHERE settlement IS NOT NULL").fetchall()
    return [orjson.loads(settlement) for (settlement,) in rows]


def _first_halted_bar(state: Path) -> int:
    """The bar of the first order the halt rejected."""
    return min(s["bar_open_time_ms"] for s in _settlements(state) if s.get("reason") == HALTED)


def _settled_from(state: Path, bar_open_time_ms: int) -> list[tuple[str, str | None]]:
    """How each order of that bar or a later one was settled: its kind and, for a rejection, the reason."""
    return [
        ("OrderRejected" if "reason" in s else "OrderFilled", s.get("reason"))
        for s in _settlements(state)
        if s["bar_open_time_ms"] >= bar_open_time_ms
    ]
