"""Invariant 1 end to end: recorded days through a faulty local Binance, streamed live, equal stds replay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from events.codec import decode
from events.dead_letters import DeadLetterList
from events.models import BarClosed
from infra.cli import main
from infra.config import StdsConfig, StrategyConfig
from infra.local.live import LiveOptions, run_live
from producers.exchanges.binance import BinanceSpot
from producers.replay.sources import open_sources
from producers.streamer.connection import ConnectionSettings
from producers.streamer.cursors import CursorFile
from producers.streamer.streamer import Streamer, StreamerSettings
from tests.conftest import REPO_ROOT, SHARED_DATA
from tools.local_exchange.faults import Fault, FaultPlan
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

FUTURES = SHARED_DATA / "binance/futures/um/klines/1m"
SYMBOLS = ("LINK/USDT", "NEAR/USDT", "FIL/USDT")
DAYS = ("2023-02-06", "2023-02-07")
PATHS = [FUTURES / f"{s.replace('/', '')}/{s.replace('/', '')}-1m-{day}.csv" for s in SYMBOLS for day in DAYS]
FAST = ConnectionSettings(silence_s=0.5, backoff_base_s=0.02, backoff_cap_s=0.3)


def recorded_bars() -> list[BarClosed]:
    return list(open_sources(PATHS, DeadLetterList(), exchange="binance"))


def test_chaos_every_bar_once_in_order_and_the_same_trades_as_replay(tmp_path: Path) -> None:
    bars = recorded_bars()
    exchange = LocalBinance(Tape.of(bars), speed=8000, faults=FaultPlan.chaos(rate=0.004, seed=11))
    config = StdsConfig(
        strategies={
            "sma": StrategyConfig(use="sma_cross", params={"fast": 5, "slow": 20, "qty": "10"}),
            "donchian": StrategyConfig(use="donchian_breakout", params={"qty": "10"}),
        }
    )
    live = tmp_path / "live"
    stream = StreamerSettings(symbols=SYMBOLS, start_ms=bars[0].open_time_ms, heartbeat_s=2, connection=FAST)
    options = LiveOptions(
        config=config, config_dir=tmp_path, stream=stream, out=live, record=live / "events.jsonl",
        print_trades=False, duration_s=240,
    )  # fmt: skip
    summary = asyncio.run(run_live(options, exchange))

    # every fault kind happened, or this test proves nothing
    assert all(exchange.stats[fault.value] > 0 for fault in Fault if fault is not Fault.NONE), exchange.stats
    assert exchange.stats["refused"] > 0 and summary["streamer"]["malformed"] > 0

    published = [
        envelope.detail
        for line in (live / "events.jsonl").read_bytes().splitlines()
        if (envelope := decode(line)).detail_type == "BarClosed"
    ]
    keys = [(bar.symbol, bar.open_time_ms) for bar in published]
    assert Counter(keys) == Counter((bar.symbol, bar.open_time_ms) for bar in bars)  # each exactly once
    for symbol in SYMBOLS:
        times = [t for s, t in keys if s == symbol]
        assert times == sorted(times)  # in order per symbol
    recorded = {(b.symbol, b.open_time_ms): b for b in bars}
    assert all(
        (b.open, b.high, b.low, b.close, b.volume) == (r.open, r.high, r.low, r.close, r.volume)
        for b in published
        if (r := recorded[(b.symbol, b.open_time_ms)])
    )

    config_file = tmp_path / "strategies.toml"
    config_file.write_text(
        "[strategies]\n"
        'sma = { use = "sma_cross", params = { fast = 5, slow = 20, qty = "10" } }\n'
        'donchian = { use = "donchian_breakout", params = { qty = "10" } }\n'
    )
    replay = tmp_path / "replay"
    argv = ["replay", *map(str, PATHS), "--config", str(config_file), "--exchange", "binance"]
    assert main([*argv, "--out", str(replay), "--no-progress", "--no-chart"]) == 0
    assert (live / "trades.csv").read_text() == (replay / "trades.csv").read_text()
    assert summary["trades"] > 20
    live_holdings = subprocess.run(
        [sys.executable, "-m", "infra.cli", "holdings", "--db", str(live / "state.sqlite")],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    ).stdout  # fmt: skip
    replay_holdings = subprocess.run(
        [sys.executable, "-m", "infra.cli", "holdings", "--db", str(replay / "state.sqlite")],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    ).stdout  # fmt: skip
    assert live_holdings == replay_holdings


def run_streamer(
    exchange: LocalBinance, tmp_path: Path, settings: ConnectionSettings, seconds: float, *, from_start: bool = True
) -> tuple[list[BarClosed], Streamer]:
    published: list[BarClosed] = []

    async def go() -> Streamer:
        async with exchange.running() as (ws_url, rest_url):
            made = Streamer(
                adapter=BinanceSpot(),
                settings=StreamerSettings(
                    symbols=SYMBOLS,
                    ws_url=ws_url,
                    rest_url=rest_url,
                    start_ms=exchange.tape.first_open_ms if from_start else None,
                    connection=settings,
                ),
                sink=published.append,
                cursors=CursorFile(tmp_path / "cursors.json"),
                dead_letters=DeadLetterList(),
            )
            task = asyncio.create_task(made.run())
            await asyncio.sleep(seconds)
            made.stop()
            await task
            return made

    return published, asyncio.run(go())


def test_rotation_hands_over_without_losing_or_doubling(tmp_path: Path) -> None:
    every = recorded_bars()
    bars = [b for b in every if b.open_time_ms < every[0].open_time_ms + 200 * 60_000]
    exchange = LocalBinance(Tape.of(bars), speed=3000)
    rotating = ConnectionSettings(silence_s=2, rotate_after_s=0.4)
    # no start time: each stream begins at its first live bar, so any backfill would mean a hand-over gap
    published, made = run_streamer(exchange, tmp_path, rotating, seconds=5, from_start=False)
    assert exchange.stats["connections"] >= 4, exchange.stats  # rotated several times
    first = min(b.open_time_ms for b in published)
    expected = sorted((b.symbol, b.open_time_ms) for b in bars if b.open_time_ms > first + 60_000)
    got = sorted((b.symbol, b.open_time_ms) for b in published if b.open_time_ms > first + 60_000)
    assert got == expected  # nothing lost, nothing doubled across the hand-overs
    assert made.backfilled == 0


def test_refused_connections_are_retried_with_backoff_not_busy_looping(tmp_path: Path) -> None:
    bars = recorded_bars()[:300]
    exchange = LocalBinance(Tape.of(bars), speed=3000)
    exchange.refuse_until = time.monotonic() + 1.5
    published, _ = run_streamer(exchange, tmp_path, ConnectionSettings(backoff_base_s=0.1, backoff_cap_s=1), 4)
    assert 2 <= exchange.stats["refused"] <= 12  # ~1.5 s of exponential backoff from 0.1 s, not thousands
    assert len(published) == len({(b.symbol, b.open_time_ms) for b in published}) > 0


def test_sigterm_stops_stds_run_cleanly_and_saves_cursors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "run", "--symbols", "LINK/USDT", "--strategy", "sma_cross",
         "--local-exchange", str(PATHS[0]), "--speed", "600", "--out", str(out), "--no-print"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (out / "state.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert (out / "cursors.json").read_text().startswith('{"binance|LINK/USDT|1m":')
    assert "bars" in stdout and (out / "summary.json").exists()
