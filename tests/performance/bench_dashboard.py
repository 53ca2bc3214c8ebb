"""`make bench-dashboard`: how long the dashboard takes to load a month of 1-minute state for 20 sub-accounts.

The state is a real replay (4 strategies × the 5 shared futures symbols of February 2023, 28 days = 40,320 bars
each), built once into out/bench-dashboard/ and reused. Timed through the real server on loopback: what the page
asks for when it opens (the snapshot, the strategies' equity with the sub-accounts of the symbol it shows, that
symbol's chart) from a fresh process (cold: every fill read for the first time) and again (warm: only what changed
is read).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from infra.config import StdsConfig, StrategyLine
from infra.dashboard.server import Dashboard, DashboardSettings
from infra.dashboard.sqlite_reader import SqliteReader
from infra.local.replay import ReplayOptions, run_replay

REPO = Path(__file__).resolve().parents[2]
FUTURES = REPO.parent / "shared/data/binance/futures/um/klines/1m"
OUT = REPO / "out/bench-dashboard"
STRATEGIES = {
    "sma_10_30": StrategyLine(use="sma_cross", params={"fast": 10, "slow": 30, "qty": "100"}),
    "sma_60_240": StrategyLine(use="sma_cross", params={"fast": 60, "slow": 240, "qty": "100"}),
    "donchian": StrategyLine(use="donchian_breakout", params={"entry": 60, "exit": 30, "qty": "100"}),
    "bollinger": StrategyLine(use="bollinger_reversion", params={"period": 60, "qty": "100"}),
}
TOKEN = "bench"
SHOWN = ("binanceusdm", "AVAX/USDT", "1m")  # the symbol the page opens on
PAGE_REQUESTS = (  # as dashboard.js's drawCharts asks them, for a 1400 px wide window
    "/api/snapshot",
    "/api/equity?" + urlencode({"points": 1400, "market": "|".join(SHOWN[:2])}),
    "/api/symbol?" + urlencode({"exchange": SHOWN[0], "symbol": SHOWN[1], "timeframe": SHOWN[2], "points": 1400}),
)


def month_state() -> Path:
    state = OUT / "state.sqlite"
    if not state.exists():
        print(f"building {state}: a replay of 201,600 bars through 20 sub-accounts (a few minutes, once)")
        config = StdsConfig(strategies=STRATEGIES)
        run_replay(ReplayOptions(paths=[FUTURES], config=config, config_dir=REPO, out=OUT, chart=False, progress=False))
    return state


async def page_load_s(state: Path) -> tuple[float, float, float, int]:
    """Seconds to start a server (it reads every order once), for the page's first requests on it, and for the
    same requests again; bytes sent."""
    started = time.perf_counter()
    dashboard = Dashboard(SqliteReader(state), DashboardSettings(TOKEN, str(state)))
    runner = web.AppRunner(dashboard.app())
    await runner.setup()
    startup = time.perf_counter() - started
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    timings, sent = [], 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        for _ in range(2):
            started = time.perf_counter()
            for path in PAGE_REQUESTS:
                async with session.get(base + path) as response:
                    assert response.status == 200, await response.text()
                    sent += len(await response.read())
            timings.append(time.perf_counter() - started)
    await runner.cleanup()
    return startup, timings[0], timings[1], sent // 2


def main(rounds: int = 3) -> None:
    state = month_state()
    reader = SqliteReader(state)
    accounts, fills = reader.accounts(), reader.fills()
    reader.close()
    print(f"state: {len(accounts)} sub-accounts, {len(fills):,} fills, {state.stat().st_size / 1e6:.0f} MB")
    runs = [asyncio.run(page_load_s(state)) for _ in range(rounds)]  # each with a fresh server and reader
    starts, firsts, agains = (sorted(run[n] for run in runs) for n in range(3))
    middle = rounds // 2
    print(f"{rounds} fresh servers, best / median: start {starts[0]:.3f} / {starts[middle]:.3f} s")
    print(
        f"page load (snapshot + equity of one symbol's page + its chart, {runs[0][3] / 1e3:.0f} kB): "
        f"first {firsts[0]:.3f} / {firsts[middle]:.3f} s, again {agains[0]:.3f} / {agains[middle]:.3f} s"
    )


if __name__ == "__main__":
    main()
