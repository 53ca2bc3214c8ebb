"""`stds dashboard` on a replay's state file, in a real browser: the page says what summary.json says; without
the token nothing is read or changed."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from infra.cli import main
from tests.conftest import BTCUSDT_SPOT_DAY, REPO_ROOT
from tests.e2e.dashboard_harness import browser, field_values, running_dashboard

__all__ = ["browser"]  # the fixture, imported for the tests below

ALGO_DAY = REPO_ROOT.parent / "shared/data/binance/futures/um/klines/1m/ALGOUSDT/ALGOUSDT-1m-2023-02-01.csv"
STRATEGIES = """
[strategies]
sma = { use = "sma_cross", params = { fast = 10, slow = 30, qty = "0.5" } }
donchian = { use = "donchian_breakout", params = { qty = "0.5" } }
"""


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two strategies on two symbols of two exchanges (BTC/USDT spot, ALGO/USDT futures), one day each."""
    out = tmp_path_factory.mktemp("replay")
    config = out / "strategies.toml"
    config.write_text(STRATEGIES)
    arguments = ["replay", str(BTCUSDT_SPOT_DAY), str(ALGO_DAY), "--config", str(config), "--out", str(out)]
    assert main([*arguments, "--no-progress", "--no-chart"]) == 0
    return out


def test_the_page_shows_the_numbers_of_summary_json(replay: Path, browser: Any) -> None:
    summary = json.loads((replay / "summary.json").read_text())
    with running_dashboard("--db", str(replay / "state.sqlite")) as dashboard:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(dashboard.page_url)
        page.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 4")
        accounts = field_values(page, "accounts", "data-account")
        strategies = field_values(page, "strategies", "data-strategy")
        page.wait_for_selector("#price-chart .uplot")
        page.close()

    assert len(summary["accounts"]) == 4
    for expected in summary["accounts"]:
        shown = accounts[f"{expected['strategy']}|{expected['exchange']}|{expected['symbol']}"]
        assert Decimal(shown["pnl"]) == Decimal(expected["pnl"])
        assert Decimal(shown["realised"]) + Decimal(shown["unrealised"]) == Decimal(expected["pnl"])
        assert Decimal(shown["fees"]) == Decimal(expected["fees"])
        assert Decimal(shown["position"]) == Decimal(expected["position"])
        assert int(shown["trades"]) == expected["trades"] > 0
    assert sum(Decimal(row["pnl"]) for row in strategies.values()) == Decimal(summary["pnl"])
    assert sum(int(row["trades"]) for row in strategies.values()) == summary["trades"]


def test_dragging_across_the_price_asks_the_server_for_that_range_in_detail(replay: Path, browser: Any) -> None:
    with running_dashboard("--db", str(replay / "state.sqlite")) as dashboard:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        with page.expect_response(lambda response: "/api/symbol" in response.url) as first:
            page.goto(dashboard.page_url)
        whole = first.value.json()
        page.wait_for_function("window.stdsState.charts['price-chart'] !== undefined")
        page.locator("#price-chart").scroll_into_view_if_needed()
        box = page.locator("#price-chart .u-over").bounding_box()
        with page.expect_response(lambda response: "/api/symbol" in response.url and "from=" in response.url) as zoom:
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 50, steps=3)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + 50, steps=10)
            page.mouse.up()
        detail = zoom.value.json()
        page.close()
    assert whole["bucket_ms"] == 120_000 and len(whole["times"]) == 720  # a day in 1,400 points: 2-minute buckets
    assert detail["bucket_ms"] == 60_000 and 100 < len(detail["times"]) < 200  # a tenth of the day, every bar
    assert (
        whole["times"][0] + 0.25 * 86400 < detail["times"][0] < detail["times"][-1] < whole["times"][0] + 0.45 * 86400
    )


def test_a_request_without_the_token_is_refused(replay: Path) -> None:
    state = replay / "state.sqlite"
    with running_dashboard("--db", str(state), token="correct horse") as dashboard:
        assert _status(dashboard.url + "api/snapshot") == 401
        assert _status(dashboard.url + "api/snapshot", headers={"Authorization": "Bearer wrong"}) == 401
        assert _status(dashboard.url + "api/events") == 401
        # a state change needs the header, which a form posted from another site cannot set
        assert _status(dashboard.url + "api/halt?token=correct%20horse", method="POST") == 401
        assert _status(dashboard.url + "api/halt", method="POST") == 401
        assert _kill_switch(state) is None
        assert _status(dashboard.url + "api/snapshot", headers={"Authorization": "Bearer correct horse"}) == 200
        assert _status(dashboard.url, headers={}) == 200  # the page itself holds no data
        halted = _status(dashboard.url + "api/halt", method="POST", headers={"Authorization": "Bearer correct horse"})
        assert halted == 200
        assert _kill_switch(state) == ("halt", "halted from the dashboard")
        resumed = _status(
            dashboard.url + "api/resume", method="POST", headers={"Authorization": "Bearer correct horse"}
        )
        assert resumed == 200
        assert _kill_switch(state) is None


def test_halt_takes_a_mode_and_refuses_one_it_does_not_know(replay: Path) -> None:
    state = replay / "state.sqlite"
    token = {"Authorization": "Bearer correct horse", "Content-Type": "application/json"}
    with running_dashboard("--db", str(state), token="correct horse") as dashboard:
        refused = _status(dashboard.url + "api/halt", method="POST", headers=token, body={"mode": "panic"})
        assert refused == 400 and _kill_switch(state) is None
        engaged = _status(
            dashboard.url + "api/halt", method="POST", headers=token, body={"mode": "reduce-only", "reason": "news"}
        )
        assert engaged == 200 and _kill_switch(state) == ("reduce-only", "news")
        assert _status(dashboard.url + "api/resume", method="POST", headers=token) == 200
    assert _kill_switch(state) is None


def test_a_host_beyond_loopback_refuses_to_start_without_a_password(replay: Path, capsys: Any) -> None:
    assert main(["dashboard", "--db", str(replay / "state.sqlite"), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "STDS_DASHBOARD_TOKEN" in error and "0.0.0.0" in error


def test_a_missing_state_file_is_one_clear_line(tmp_path: Path, capsys: Any) -> None:
    assert main(["dashboard", "--db", str(tmp_path / "nothing.sqlite")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"stds: error: {tmp_path / 'nothing.sqlite'}: no state file here (a replay or run creates OUT/state.sqlite)"
    )


def test_a_file_that_is_not_a_state_file_is_one_clear_line(tmp_path: Path, capsys: Any) -> None:
    other = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    assert main(["dashboard", "--db", str(other)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"stds: error: {other} is an SQLite database of something else") and "\n" not in error


def _status(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: dict[str, str] | None = None
) -> int:
    data = json.dumps(body).encode() if body is not None else b"" if method == "POST" else None
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _kill_switch(state: Path) -> tuple[str, str] | None:
    with sqlite3.connect(state) as connection:
        row = connection.execute("SELECT value FROM control WHERE name = 'kill_switch'").fetchone()
    return None if row is None else (json.loads(row[0])["mode"], json.loads(row[0])["reason"])
