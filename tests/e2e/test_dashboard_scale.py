"""The dashboard at 94 symbols × 5 strategies (470 sub-accounts), in Chromium at 1440 and 390 px: totals first, a
sub-account table that sorts and filters, the kill switch's three modes each behind a confirmation and in reach
on a phone, a finished run without a halt, each strategy in its chart.png colour, and a first load under 500 KB.
Screenshots are saved in the test's tmp dir (`screenshots/`)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from consumers.stores.sqlite import SqliteState
from infra.cli import main
from infra.report.colours import strategy_colours
from tests.conftest import REPO_ROOT
from tests.e2e.dashboard_harness import browser, field_values, running_dashboard
from tests.performance.dashboard_size import BROWSER, TOKEN, first_load

__all__ = ["browser"]  # the fixture, imported for the tests below

DAY = REPO_ROOT.parent / "shared/data/binance/spot/freqtrade_json/1m/2021-05-07"
MINUTES = 120
STRATEGIES = """
[strategies]
sma_10_30 = { use = "sma_cross", params = { fast = 10, slow = 30 } }
sma_ls_20_60 = { use = "sma_cross", params = { fast = 20, slow = 60, mode = "long_short" } }
donchian = { use = "donchian_breakout", params = { entry = 20, exit = 10 } }
bollinger = { use = "bollinger_reversion", params = { period = 20 } }
momentum = { use = "MOMENTUM", params = { period = 20 } }
"""
FIRST_LOAD_LIMIT = 500_000


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first two hours of 2021-05-07 for the 94 recorded spot pairs, through 5 strategies on every symbol."""
    out = tmp_path_factory.mktemp("scale")
    bars = out / "bars"
    bars.mkdir()
    for path in sorted(DAY.glob("*.json")):
        (bars / path.name).write_text(json.dumps(json.loads(path.read_text())[:MINUTES]))
    config = out / "strategies.toml"
    config.write_text(STRATEGIES.replace("MOMENTUM", str(REPO_ROOT / "examples/strategies/momentum.py")))
    assert main(["replay", str(bars), "--config", str(config), "--out", str(out), "--no-progress", "--no-chart"]) == 0
    return out


def _shots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def test_a_finished_run_at_470_sub_accounts(replay: Path, browser: Any, tmp_path: Path) -> None:
    summary = json.loads((replay / "summary.json").read_text())
    with running_dashboard("--db", str(replay / "state.sqlite")) as dashboard:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(dashboard.page_url)
        page.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 470")
        page.wait_for_selector("#price-chart .uplot")
        page.screenshot(path=_shots(tmp_path) / "finished-1440.png", full_page=True)

        # a finished run says so and offers no halt
        assert page.locator("#connection").text_content() == "finished run"
        assert not page.locator("#halt").is_visible() and not page.locator("#flatten").is_visible()

        # the totals come first, and add up to summary.json
        assert page.locator("#portfolio").bounding_box()["y"] < page.locator("#accounts").bounding_box()["y"]
        assert Decimal(page.locator("#portfolio [data-field=pnl]").get_attribute("data-value")) == Decimal(
            summary["pnl"]
        )
        assert page.locator("#strategies tbody tr").count() == 5

        # the ledger's trade statistics, as summary.json has them: overall, then per strategy
        trips = field_values(page, "trade-stats-table", "data-group")
        assert int(trips["all"]["round_trips"]) == summary["round_trips"] > 0
        assert trips["all"]["profit_factor"] == str(summary["trade_statistics"]["total"]["profit_factor"])
        for expected in summary["strategies"]:
            shown = trips[expected["strategy"]]
            assert int(shown["round_trips"]) == expected["round_trips"]
            assert float(shown["win_rate_pct"]) == expected["win_rate_pct"]

        # one colour per strategy, chart.png's
        swatches = page.evaluate(
            """[...document.querySelectorAll('#strategies tbody tr')].map((row) =>
                [row.dataset.strategy, getComputedStyle(row.querySelector('.swatch')).backgroundColor])"""
        )
        expected = strategy_colours(name for name, _ in swatches)
        assert {name: _hex(rgb) for name, rgb in swatches} == {name: hex_.lower() for name, hex_ in expected.items()}

        # sorted by PnL: a number column sorts highest first, a second click turns it round; then filtered
        page.click("#accounts th[data-sort=pnl]")
        shown = [
            Decimal(v)
            for v in page.eval_on_selector_all("#accounts td[data-field=pnl]", "c => c.map(x => x.dataset.value)")
        ]
        assert shown == sorted(shown, reverse=True) and len(shown) == 470
        page.click("#accounts th[data-sort=pnl]")
        assert page.locator("#accounts td[data-field=pnl]").first.get_attribute("data-value") == str(min(shown))
        page.fill("#account-filter", "sma btc")
        page.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 2")
        kept = page.eval_on_selector_all("#accounts tbody tr", "rows => rows.map(r => r.dataset.account)")
        assert kept == ["sma_10_30|binance|BTC/USDT", "sma_ls_20_60|binance|BTC/USDT"]
        assert page.locator("#account-count").text_content() == "2 of 470 sub-accounts"
        page.close()


def test_a_live_run_on_a_phone_offers_each_mode_with_a_confirmation(replay: Path, browser: Any, tmp_path: Path) -> None:
    state = SqliteState(replay / "state.sqlite", Decimal(100_000))  # a process writing the state: the run is live
    try:
        with running_dashboard("--db", str(replay / "state.sqlite"), "--poll", "0.2") as dashboard:
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            page.goto(dashboard.page_url)
            page.wait_for_selector("#connection.on")
            page.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 470")
            assert page.locator("#connection").text_content() == "live"
            page.screenshot(path=_shots(tmp_path) / "live-390.png")
            for control in ("#kill-switch", "#halt", "#reduce-only", "#flatten", "#resume"):
                box = page.locator(control).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] < 844, control
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways

            page.click("#flatten")  # asked first, and cancelled: nothing changes
            page.wait_for_selector("#confirm[open]")
            assert "every position is closed at market" in page.locator("#confirm-text").text_content()
            page.screenshot(path=_shots(tmp_path) / "confirm-flatten-390.png")
            page.click("#confirm-no")
            assert state.kill_switch.engaged() is None

            page.click("#reduce-only")
            page.fill("#confirm-reason", "exchange incident")
            page.click("#confirm-yes")
            page.wait_for_selector("#kill-switch[data-mode=reduce-only]")
            state.commit()  # the run reads the switch the dashboard wrote at its next commit, as a live run does
            engaged = state.kill_switch.engaged()
            assert engaged is not None and (engaged.mode, engaged.reason) == ("reduce-only", "exchange incident")
            page.locator("#accounts").scroll_into_view_if_needed()
            assert page.locator("#kill-switch").is_visible() and page.locator("#resume").is_enabled()  # sticky header
            page.screenshot(path=_shots(tmp_path) / "reduce-only-390-scrolled.png")

            page.click("#resume")
            page.click("#confirm-yes")
            page.wait_for_selector("#kill-switch[data-engaged=false]")
            state.commit()
            assert state.kill_switch.engaged() is None
            page.close()

            wide = browser.new_page(viewport={"width": 1440, "height": 900})
            wide.goto(dashboard.page_url)
            wide.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 470")
            wide.wait_for_selector("#price-chart .uplot")
            wide.screenshot(path=_shots(tmp_path) / "live-1440.png")
            wide.close()
    finally:
        state.close()


def test_the_first_load_is_under_500_kb(replay: Path) -> None:
    async def measured(url: str) -> dict[str, int]:
        async with aiohttp.ClientSession(headers=BROWSER, auto_decompress=False) as session:
            sizes, counter, rows = await first_load(session, url.rstrip("/"))
            counter.response.close()
        assert len(rows) == 470
        return sizes

    # off this thread, where the browser fixture's event loop runs
    with (
        running_dashboard("--db", str(replay / "state.sqlite"), token=TOKEN) as dashboard,
        ThreadPoolExecutor(1) as thread,
    ):
        sizes = thread.submit(asyncio.run, measured(dashboard.url)).result()
    assert sum(sizes.values()) <= FIRST_LOAD_LIMIT, sizes


def _hex(rgb: str) -> str:
    red, green, blue = (int(part) for part in rgb.removeprefix("rgb(").removesuffix(")").split(","))
    return f"#{red:02x}{green:02x}{blue:02x}"
