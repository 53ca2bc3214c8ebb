"""Invariant 1 end to end: recorded days through a faulty local Binance, streamed live, equal stds replay; and
`stds stream` interrupted as Fargate Spot interrupts it, losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consumers.stores.dynamodb import TableNames, create_tables
from events.aggregation import BarAggregator
from events.codec import decode
from events.dead_letters import DeadLetterList
from events.models import BarClosed
from infra.cli import main
from infra.config import StdsConfig, StrategyLine
from infra.local.live import LiveOptions, run_live
from producers.exchanges.binance import BinanceSpot
from producers.replay.sources import open_sources
from producers.streamer.connection import ConnectionSettings
from producers.streamer.cursors import CursorFile, DynamoCursorItem
from producers.streamer.supervisor import Streamer, StreamerSettings
from tests.conftest import FUTURES_1M, HANG_S, REPO_ROOT, eventually
from tests.emulators.aws import archived_bars, bars_in, client, envelopes_in, queue_behind_rule
from tools.local_exchange.faults import Fault, FaultPlan
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

SYMBOLS = ("LINK/USDT", "NEAR/USDT", "FIL/USDT")
DAYS = ("2023-02-06", "2023-02-07")
PATHS = [FUTURES_1M / f"{s.replace('/', '')}/{s.replace('/', '')}-1m-{day}.csv" for s in SYMBOLS for day in DAYS]
FAST = ConnectionSettings(silence_s=0.5, backoff_base_s=0.02, backoff_cap_s=0.3)


def recorded_bars() -> list[BarClosed]:
    return list(open_sources(PATHS, DeadLetterList(), exchange="binance"))


def test_chaos_every_bar_once_in_order_and_the_same_trades_as_replay(tmp_path: Path) -> None:
    bars = recorded_bars()
    exchange = LocalBinance(Tape.of(bars), speed=8000, faults=FaultPlan.chaos(rate=0.004, seed=11))
    config = StdsConfig(
        strategies={
            "sma": StrategyLine(use="sma_cross", params={"fast": 5, "slow": 20, "qty": "10"}),
            "donchian": StrategyLine(use="donchian_breakout", params={"qty": "10"}),
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
    exchange: LocalBinance,
    tmp_path: Path,
    settings: ConnectionSettings,
    until: Callable[[list[BarClosed]], bool],
    *,
    from_start: bool = True,
) -> tuple[list[BarClosed], Streamer]:
    """Stream from the exchange until `until(published)` holds (a hang guard, no time limit), then stop."""
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
            deadline = time.monotonic() + HANG_S
            while not until(published) and not task.done():
                assert time.monotonic() < deadline, f"streamed {len(published)} bars, and no further in {HANG_S} s"
                await asyncio.sleep(0.01)
            made.stop()
            await task
            return made

    return published, asyncio.run(go())


def test_rotation_hands_over_without_losing_or_doubling(tmp_path: Path) -> None:
    every = recorded_bars()
    bars = [b for b in every if b.open_time_ms < every[0].open_time_ms + 200 * 60_000]
    last = {(b.symbol, b.open_time_ms) for b in bars if b.open_time_ms == bars[-1].open_time_ms}
    exchange = LocalBinance(Tape.of(bars), speed=3000)
    rotating = ConnectionSettings(silence_s=2, rotate_after_s=0.4)
    # no start time: each stream begins at its first live bar, so any backfill would mean a hand-over gap

    def handed_over_to_the_end(got: list[BarClosed]) -> bool:  # several hand-overs, and the tape's last minute
        return exchange.stats["connections"] >= 4 and last <= {(b.symbol, b.open_time_ms) for b in got}

    published, made = run_streamer(exchange, tmp_path, rotating, handed_over_to_the_end, from_start=False)
    first = min(b.open_time_ms for b in published)
    expected = sorted((b.symbol, b.open_time_ms) for b in bars if b.open_time_ms > first + 60_000)
    got = sorted((b.symbol, b.open_time_ms) for b in published if b.open_time_ms > first + 60_000)
    assert got == expected  # nothing lost, nothing doubled across the hand-overs
    assert made.backfilled == 0


def test_refused_connections_are_retried_with_backoff_not_busy_looping(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bars = recorded_bars()[:300]
    exchange = LocalBinance(Tape.of(bars), speed=3000)
    exchange.refuse_connections = 5
    settings = ConnectionSettings(backoff_base_s=0.01, backoff_cap_s=1)
    with caplog.at_level(logging.WARNING, logger="producers.streamer.connection"):
        published, _ = run_streamer(exchange, tmp_path, settings, lambda got: len(got) >= 30)
    assert exchange.stats["refused"] == 5 and exchange.stats["connections"] >= 1
    waits = [record.retry_in_s for record in caplog.records if record.getMessage() == "connect failed, retrying"]
    assert len(waits) == 5  # each refusal waited once, then tried again
    assert all(wait >= 0.01 * 2**attempt / 2 for attempt, wait in enumerate(waits))  # exponential, never a spin
    assert len(published) == len({(b.symbol, b.open_time_ms) for b in published}) >= 30


def test_sigterm_stops_stds_run_cleanly_and_saves_cursors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "run", "--symbols", "LINK/USDT", "--strategy", "sma_cross",
         "--local-exchange", str(PATHS[0]), "--speed", "600", "--out", str(out), "--no-print"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    eventually(lambda: _published_so_far(out / "state.sqlite") > 0, "stds run streamed no bar")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert (out / "cursors.json").read_text().startswith('{"binance|LINK/USDT|1m":')
    assert "bars" in stdout and (out / "summary.json").exists()


SPOT_MINUTES = 240  # at 600x a minute closes every 0.1 s: the tape lasts 24 s


def spot_bars() -> tuple[list[BarClosed], list[BarClosed]]:
    """The recording's first `SPOT_MINUTES` minutes, and those with the 5m bars they make."""
    every = recorded_bars()
    minutes = [bar for bar in every if bar.open_time_ms < every[0].open_time_ms + SPOT_MINUTES * 60_000]
    aggregator = BarAggregator(["5m"])
    return minutes, [*minutes, *(made for bar in minutes for made in aggregator.add(bar)[1:])]


@pytest.mark.parametrize("interruption", [signal.SIGKILL, signal.SIGTERM], ids=["reclaimed", "notice"])
def test_a_spot_interruption_mid_minute_loses_no_bar_and_the_archive_keeps_each_once(
    interruption: signal.Signals, tmp_path: Path, moto_endpoint: str, dynamodb_endpoint: str, dynamodb: Any
) -> None:
    """`stds stream --timeframes 5m` killed while minutes stream in, then a new task with the same cursors and
    bucket. SIGKILL (the reclaim outlived its 2-minute notice): every bar, the 5m ones made from the minutes too,
    reaches the bus at least once, a repeat carries the same values, S3 holds each once. SIGTERM (the notice): no
    repeats at all."""
    minutes, bars = spot_bars()
    first_open = minutes[0].open_time_ms
    exchange = LocalBinance(Tape.of(minutes), speed=600)
    name = f"spot-{uuid.uuid4().hex[:8]}"
    client("events", moto_endpoint).create_event_bus(Name=name)
    client("s3", moto_endpoint).create_bucket(Bucket=name)
    queue = queue_behind_rule(moto_endpoint, name, "bars", {"detail-type": ["BarsClosed"]})
    prefix = f"{name}-"
    create_tables(dynamodb, TableNames.with_prefix(prefix))
    saved = DynamoCursorItem(dynamodb, TableNames.with_prefix(prefix).control)
    last = {symbol: max(b.open_time_ms for b in minutes if b.symbol == symbol) for symbol in SYMBOLS}
    environment = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint}
    environment |= {"AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint, "AWS_ENDPOINT_URL_S3": moto_endpoint}

    with exchange.serving_in_thread() as (ws_url, rest_url):
        command = [sys.executable, "-m", "infra.cli", "stream", "--symbols", ",".join(SYMBOLS)]
        command += [
            "--since",
            str(first_open),
            "--event-bus",
            name,
            "--bucket",
            name,
            "--table-prefix",
            prefix,
            "--ws-url",
            ws_url,
        ]
        command += ["--rest-url", rest_url, "--heartbeat", "1", "--silence", "2", "--batch-wait", "0.5"]
        command += ["--timeframes", "5m", "--dead-letters", str(tmp_path / "dead-letters.jsonl")]

        def task(*log_options: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [*command[:3], *log_options, *command[3:]],
                cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip

        first = task()
        # interrupt once a third of the day is through (the cursors say so), at no particular point of a minute
        wait_for(lambda: min(saved.load().values(), default=0) > first_open + SPOT_MINUTES // 3 * 60_000, first)
        first.send_signal(interruption)
        _, first_err = first.communicate(timeout=60)
        if interruption is signal.SIGTERM:
            assert first.returncode == 0, first_err[-3000:]
        replacement = task("--log-level", "INFO")  # its heartbeats are logged at INFO
        logged: list[str] = []  # its log, read as it comes: a heartbeat says it is up, its SIGTERM handler set
        reader = threading.Thread(target=lambda: logged.extend(iter(replacement.stderr.readline, "")))  # type: ignore[union-attr]
        reader.start()
        # the first task may have streamed the whole tape while it stopped: the cursors alone cannot say the
        # replacement is up, and a SIGTERM before its handler is set ends it with -15
        done = {("binance", symbol, "1m"): at for symbol, at in last.items()}
        wait_for(lambda: any("streamer heartbeat" in line for line in logged) and saved.load() == done, replacement)
        replacement.send_signal(signal.SIGTERM)
        replacement.wait(60)
        reader.join(60)
        out, err = replacement.stdout.read(), "".join(logged)  # type: ignore[union-attr]
        assert replacement.returncode == 0, err[-3000:]
        assert "all_delivered=True" in out

    received = bars_in(envelopes_in(moto_endpoint, queue))
    recorded = {series_key(b): b for b in bars}
    assert set(map(series_key, received)) == recorded.keys()  # every bar at least once
    assert all(values(bar) == values(recorded[series_key(bar)]) for bar in received)  # a repeat: the same bar
    repeats = Counter(bar.timeframe for bar in received) - Counter(bar.timeframe for bar in bars)
    if interruption is signal.SIGTERM:
        assert not repeats
    archived = archived_bars(moto_endpoint, name)
    assert Counter(map(series_key, archived)) == Counter(recorded.keys())  # each exactly once
    assert all(values(bar) == values(recorded[series_key(bar)]) for bar in archived)
    print(
        f"\n{interruption.name}: {len(minutes)} minutes and {len(bars) - len(minutes)} 5m bars, "
        f"{repeats['1m']} minutes and {repeats['5m']} 5m bars published again after the restart"
    )


def wait_for(condition: Any, process: subprocess.Popen[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"stds stream exited early: {process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"gave up after {timeout_s} s: {process.communicate()[1][-3000:]}")
        time.sleep(0.05)


def _published_so_far(state: Path) -> int:
    """What a running `stds run` says it streamed (its health row in the state file), 0 before it says anything."""
    if not state.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)) as connection:
        try:
            row = connection.execute("SELECT value FROM stream_totals WHERE name = 'published'").fetchone()
        except sqlite3.OperationalError:  # no table yet
            return 0
    return int(row[0]) if row else 0


def key_of(bar: BarClosed) -> tuple[str, int]:
    return (bar.symbol, bar.open_time_ms)


def series_key(bar: BarClosed) -> tuple[str, str, int]:
    return (bar.timeframe, bar.symbol, bar.open_time_ms)


def values(bar: BarClosed) -> tuple[object, ...]:
    """What every source of a bar gives (REST klines through ccxt carry no trade count or quote volume)."""
    return (bar.open, bar.high, bar.low, bar.close, bar.volume)
