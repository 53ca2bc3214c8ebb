"""`python -m tests.performance.dashboard_size`: the bytes a browser receives from the dashboard at 94 symbols ×
5 strategies (470 sub-accounts) — on opening the page, and for each update while a run goes on.

The state is a real replay of the 94 recorded Binance spot pairs (one day, 2021-05-07, 1m) through 5 strategies on
every symbol, built once into out/dashboard-size/. The page's first load is everything it fetches before it shows
numbers and charts: the HTML, scripts and styles, the first server-sent event (the snapshot), the strategies' equity
and one symbol's chart, counted on the wire as a browser asks for them (`Accept-Encoding: gzip`). Then the replay
resumes over one more minute of bars, and every server-sent event that causes is counted the same way.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from infra.config import StdsConfig, StrategyLine
from infra.dashboard.server import Dashboard, DashboardSettings
from infra.dashboard.sqlite_reader import SqliteReader
from infra.local.replay import ReplayOptions, run_replay

REPO = Path(__file__).resolve().parents[2]
DAY = REPO.parent / "shared/data/binance/spot/freqtrade_json/1m/2021-05-07"
OUT = REPO / "out/dashboard-size"
MINUTES = 1_439  # the day but its last minute, which arrives while the page is open
STRATEGIES = {
    "sma_10_30": StrategyLine(use="sma_cross", params={"fast": 10, "slow": 30}),
    "sma_ls_20_60": StrategyLine(use="sma_cross", params={"fast": 20, "slow": 60, "mode": "long_short"}),
    "donchian": StrategyLine(use="donchian_breakout"),
    "bollinger": StrategyLine(use="bollinger_reversion"),
    "momentum": StrategyLine(use="examples/strategies/momentum.py", params={"period": 60}),
}
TOKEN = "size-measurement-token"
BROWSER = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip, deflate"}
STATIC = ("/", "/static/dashboard.js", "/static/dashboard.css", "/static/uPlot.iife.min.js", "/static/uPlot.min.css")


def _bars(minutes: int) -> Path:
    folder = OUT / f"bars-{minutes}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for path in sorted(DAY.glob("*.json")):
            (folder / path.name).write_text(json.dumps(json.loads(path.read_text())[:minutes]))
    return folder


def _replay(minutes: int, out: Path, *, resume: bool) -> None:
    config = StdsConfig(strategies=STRATEGIES)
    options = ReplayOptions(
        paths=[_bars(minutes)], config=config, config_dir=REPO, out=out, resume=resume, chart=False, progress=False
    )
    run_replay(options)


def day_state() -> Path:
    """A copy of the day's state (built once, a few minutes): the measurement appends a minute to it."""
    base = OUT / "base"
    if not (base / "state.sqlite").exists():
        print(f"replaying 94 symbols × {MINUTES} minutes through 5 strategies into {base} (once)")
        _replay(MINUTES, base, resume=False)
    run = OUT / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run)
    return run / "state.sqlite"


class EventCounter:
    """Server-sent events as they arrive, each with the bytes the wire carried for it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        gzip = response.headers.get("Content-Encoding") == "gzip"
        self.inflate = zlib.decompressobj(31) if gzip else None
        self.text, self.wire = "", 0

    async def next(self, timeout_s: float) -> tuple[int, str]:
        """(wire bytes, the event's data) of the next event that carries data."""
        while True:
            end = self.text.find("\n\n")
            if end >= 0:
                event, self.text = self.text[:end], self.text[end + 2 :]
                if "data:" not in event:
                    continue
                wire, self.wire = self.wire, 0
                return wire, event
            chunk = await asyncio.wait_for(self.response.content.readany(), timeout_s)
            if not chunk:
                raise EOFError("the event stream ended")
            self.wire += len(chunk)
            self.text += (self.inflate.decompress(chunk) if self.inflate else chunk).decode()


async def first_load(
    session: aiohttp.ClientSession, base: str
) -> tuple[dict[str, int], EventCounter, list[dict[str, Any]]]:
    """What the page fetches before it shows everything, in wire bytes per request (the first server-sent event for
    the stream); the open event stream, to count what follows; and the sub-account rows it showed."""
    sizes: dict[str, int] = {}
    for path in STATIC:
        async with session.get(base + path) as response:
            sizes[path] = len(await response.read())
    events = await session.get(base + "/api/events?token=" + TOKEN)
    counter = EventCounter(events)
    sizes["first event (snapshot)"], first = await counter.next(60)
    message = json.loads(re.sub(r"^(id|event): .*\n", "", first, flags=re.M).removeprefix("data: "))
    accounts = message.get("snapshot", message)["accounts"]  # today's stream, or a whole snapshot as before
    rows = accounts if isinstance(accounts, list) else list(accounts.values())
    symbol = rows[0]["symbol"]
    for name, path in (
        ("equity", f"/api/equity?points=1400&market=binance|{symbol}"),
        ("one symbol", f"/api/symbol?exchange=binance&symbol={symbol}&points=1400"),
    ):
        async with session.get(base + path) as response:
            assert response.status == 200, await response.text()
            sizes[name] = len(await response.read())
    return sizes, counter, rows


async def measure(state: Path) -> dict[str, object]:
    dashboard = Dashboard(SqliteReader(state), DashboardSettings(TOKEN, str(state), poll_s=0.2))
    runner = web.AppRunner(dashboard.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with aiohttp.ClientSession(headers=BROWSER, auto_decompress=False) as session:
        sizes, counter, rows = await first_load(session, base)
        one_more_minute = lambda: _replay(MINUTES + 1, state.parent, resume=True)  # noqa: E731
        await asyncio.get_running_loop().run_in_executor(None, one_more_minute)
        updates = []
        while True:
            try:
                wire, _ = await counter.next(3)
            except TimeoutError:
                break
            updates.append(wire)
        counter.response.close()
    await runner.cleanup()
    return {"first_load": sizes, "updates": updates, "sub_accounts": len(rows)}


def main() -> None:
    result = asyncio.run(measure(day_state()))
    sizes = result["first_load"]
    assert isinstance(sizes, dict)
    for name, size in sizes.items():
        print(f"  {name:<28} {size / 1e3:>9.1f} kB")
    print(f"first load ({result['sub_accounts']} sub-accounts): {sum(sizes.values()) / 1e3:.1f} kB on the wire")
    updates = result["updates"]
    assert isinstance(updates, list)
    print(f"updates after one more minute: {len(updates)} events, " + ", ".join(f"{n / 1e3:.1f} kB" for n in updates))


if __name__ == "__main__":
    main()
