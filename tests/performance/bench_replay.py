"""`make bench`: throughput and latency of the full pipeline on the shared recorded BTCUSDT bars.

First the command a user runs (`stds replay` in a fresh process: reading the files, the pipeline, the
state file, the report), then the pipeline alone on bars parsed beforehand: bar event → bus → strategy
→ order → paper fill → holdings, and how its cost per bar moves with the lookback. Figures are
wall-clock on this machine, with CPU time beside them (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import functools
import gc
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from consumers.stores.ports import Stores
from events.codec import encode
from events.dead_letters import DeadLetterList
from events.envelope import Envelope, wrap
from events.models import BarClosed
from events.streams import StreamKey
from infra.config import StdsConfig, StrategyLine
from infra.local.runtime import LocalRuntime
from infra.local.stores import memory_stores, sqlite_stores
from infra.strategy_loader import load_strategies, retention_for
from producers.exchanges.binance import BinanceSpot
from producers.replay.sources import open_sources
from producers.streamer.supervisor import Streamer, StreamerSettings
from tools.local_exchange.server import kline_message

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
BTCUSDT = SHARED / "binance/spot/ccxt_ohlcv/1m/BTCUSDT"

ONE = {"sma_cross": StrategyLine(use="sma_cross", params={"fast": 10, "slow": 30})}
TEN = {
    **{
        f"sma_{f}_{s}": StrategyLine(use="sma_cross", params={"fast": f, "slow": s})
        for f, s in [(5, 20), (10, 30), (20, 60), (30, 90)]
    },
    "sma_ls": StrategyLine(use="sma_cross", params={"fast": 10, "slow": 30, "mode": "long_short"}),
    "donchian": StrategyLine(use="donchian_breakout"),
    "donchian_ls": StrategyLine(use="donchian_breakout", params={"mode": "long_short"}),
    "bollinger": StrategyLine(use="bollinger_reversion"),
    "bollinger_ls": StrategyLine(use="bollinger_reversion", params={"mode": "long_short"}),
    "rsi": StrategyLine(use="rsi_reversion"),
}


LOOKBACKS = (30, 500, 2000, 10080)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the two BTCUSDT files are a year apart: one known gap

    _user_command(args.repeat)

    started = time.perf_counter()
    bars = list(open_sources([BTCUSDT], DeadLetterList()))
    parse_s = time.perf_counter() - started
    print(f"data: {len(bars):,} BTC/USDT 1m bars from {BTCUSDT.relative_to(SHARED.parent)}")
    print(f"parse CSV → BarClosed:            {len(bars) / parse_s:>12,.0f} bars/s")

    for label, strategies, make_stores in [
        ("1 sma_cross, memory stores", ONE, _memory),
        ("1 sma_cross, SQLite stores", ONE, _sqlite),
        ("10 strategies, memory stores", TEN, _memory),
        ("10 strategies, SQLite stores", TEN, _sqlite),
    ]:
        best = min(_replay_seconds(bars, strategies, make_stores) for _ in range(args.repeat))
        print(f"pipeline, {label:<29} {len(bars) / best:>10,.0f} bars/s  ({best * 1e6 / len(bars):.2f} µs/bar)")

    _lookback_sweep(bars, args.repeat)
    _streamer_throughput(args.repeat)

    latencies, fills = _bar_to_fill_latencies(bars)
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"bar event → fill latency ({fills} fills): p50 {quantiles[49]:.1f} µs, p90 {quantiles[89]:.1f} µs, "
        f"p99 {quantiles[98]:.1f} µs, max {max(latencies):.1f} µs"
    )


def _user_command(repeat: int) -> None:
    """`stds replay` as typed: a fresh process reading the CSVs, writing OUT/state.sqlite and the report."""
    folder = Path(tempfile.mkdtemp())
    ten = folder / "ten.toml"
    ten.write_text(
        "[strategies]\n"
        + "".join(
            f"{name} = {{ use = {config.use!r}, params = {{ {', '.join(_toml_params(config.params))} }} }}\n"
            for name, config in TEN.items()
        )
    )
    one = ["--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30"]
    for label, options in [
        ("1 sma_cross (state file, report)", one),
        ("1 sma_cross --db :memory:", [*one, "--db", ":memory:"]),
        ("10 strategies (state file, report)", ["--config", str(ten)]),
    ]:
        runs = [replay_process([*options, "--out", str(folder / "out")]) for _ in range(repeat)]
        wall, cpu, bars = min(runs)
        print(
            f"stds replay, {label:<35} {bars / wall:>8,.0f} bars/s  ({wall:.2f} s wall, {cpu:.2f} s CPU: "
            f"{bars / cpu:,.0f} bars per CPU second; {bars:,} bars)"
        )


def _toml_params(params: dict[str, object]) -> list[str]:
    return [f"{key} = {value!r}" if isinstance(value, str) else f"{key} = {value}" for key, value in params.items()]


def replay_process(options: list[str], paths: tuple[Path, ...] = (BTCUSDT,)) -> tuple[float, float, int]:
    """(wall s, CPU s, bars) of one `stds replay` of the BTC/USDT bars (or `paths`) in a fresh process, from
    start-up to its report written (`make bench-peers` times it the same way)."""
    _cache_bytecode()
    stds = Path(sys.executable).with_name("stds")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(stds), "replay", *map(str, paths), *options, "--fresh", "--no-progress", "--no-chart"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"stds replay {' '.join(options)} failed: {done.stderr.strip()[-2000:]}")
    bars = next(int(line.split()[1]) for line in done.stdout.splitlines() if line.split()[:1] == ["bars"])
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, bars


@functools.cache
def _cache_bytecode() -> None:
    """Compile the project's modules once, as an install does: a process started with PYTHONDONTWRITEBYTECODE
    set (this machine's default) otherwise compiles every module again at each start (~0.1 s), which an
    installed stds never does (pip writes the bytecode of the packages it installs, the peers' too)."""
    for package in ("events", "producers", "consumers", "infra"):
        compileall.compile_dir(REPO / package, quiet=1)


def _lookback_sweep(bars: list[BarClosed], repeat: int) -> None:
    """CPU µs per bar of one sma_cross as its slow SMA grows: over the first LOOKBACKS[-1] bars (warm-up
    for the longest) and over the rest."""
    split = LOOKBACKS[-1]
    print(f"lookback sweep, sma_cross fast=10, memory stores, CPU µs/bar (first {split:,} bars | the rest):")
    for slow in LOOKBACKS:
        strategies = {"sma_cross": StrategyLine(use="sma_cross", params={"fast": 10, "slow": slow})}
        first, rest = min(_split_cpu_seconds(bars, split, strategies) for _ in range(repeat))
        print(
            f"  slow={slow:<6} {first * 1e6 / split:>6.2f} µs | {rest * 1e6 / (len(bars) - split):>6.2f} µs  "
            f"({len(bars) / (first + rest):,.0f} bars per CPU second)"
        )


def _split_cpu_seconds(bars: list[BarClosed], split: int, strategies: dict[str, StrategyLine]) -> tuple[float, float]:
    runtime = _runtime(strategies, _memory)
    gc.collect()
    started = time.process_time()
    runtime.feed(bars[:split])
    middle = time.process_time()
    runtime.feed(bars[split:])
    return middle - started, time.process_time() - middle


def _streamer_throughput(repeat: int, symbols: int = 400, minutes: int = 30) -> None:
    """Binance kline messages through the streamer's real path: parse → gate → BarClosed envelope encoded.

    Binance pushes a forming-candle update about every 2 s, so each symbol-minute here is 29 forming
    updates and one closed kline; 400 symbols then arrive at 400 × 30 / 60 = 200 messages/s."""
    day = SHARED / "binance/spot/klines/1m/BTCUSDT"
    recorded = list(open_sources([day], DeadLetterList()))[:minutes]
    messages: list[str] = []
    for bar in recorded:
        for closed in [False] * 29 + [True]:
            for n in range(symbols):
                market = f"C{n:03d}USDT"
                stream = f"{market.lower()}@kline_1m"
                messages.append(
                    kline_message(stream, market, bar.model_copy(update={"symbol": f"C{n:03d}/USDT"}), closed)
                )
    encoded: list[bytes] = []

    async def stream_all() -> tuple[float, float]:
        streamer = Streamer(
            adapter=BinanceSpot(),
            settings=StreamerSettings(symbols=tuple(f"C{n:03d}/USDT" for n in range(symbols))),
            sink=lambda bar: encoded.append(encode(wrap(bar))),
            cursors=_NoCursors(),
            dead_letters=DeadLetterList(),
        )
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        for message in messages:
            await streamer.handle_message("bench", message)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await streamer.backfill.close()
        assert streamer.published == symbols * minutes, streamer.published
        return wall, cpu

    wall, cpu = min(asyncio.run(stream_all()) for _ in range(repeat))
    rate, cpu_us = len(messages) / wall, cpu * 1e6 / len(messages)
    live_rate = symbols * 30 / 60
    quarter_vcpu = 0.25 * 1e6 / cpu_us
    print(
        f"streamer, kline messages → events:  {rate:>10,.0f} msgs/s  ({cpu_us:.1f} µs CPU/msg; "
        f"{len(messages):,} msgs, {symbols * minutes:,} closed bars)"
    )
    print(
        f"  {symbols} symbols send ~{live_rate:.0f} msgs/s; 0.25 vCPU parses {quarter_vcpu:,.0f} msgs/s: "
        f"headroom {quarter_vcpu / live_rate:.1f}x"
    )


class _NoCursors:
    def load(self) -> dict[StreamKey, int]:
        return {}

    def save(self, cursors: dict[StreamKey, int]) -> None:
        pass


def _memory(cash: Decimal, retention: int, _: Path) -> Stores:
    return memory_stores(cash, retention)


def _sqlite(cash: Decimal, retention: int, folder: Path) -> Stores:
    path = folder / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return sqlite_stores(path, cash, retention)


def _runtime(strategies: dict[str, StrategyLine], make_stores: Callable[[Decimal, int, Path], Stores]) -> LocalRuntime:
    config = StdsConfig(strategies=strategies)
    specs = load_strategies(config, Path.cwd())
    stores = make_stores(config.paper.starting_cash, retention_for(specs), Path(tempfile.mkdtemp()))
    return LocalRuntime(specs, stores, DeadLetterList(), risk=config.risk_policy(), paper=config.paper)


def _replay_seconds(
    bars: list[BarClosed],
    strategies: dict[str, StrategyLine],
    make_stores: Callable[[Decimal, int, Path], Stores],
) -> float:
    runtime = _runtime(strategies, make_stores)
    gc.collect()
    started = time.perf_counter()
    runtime.feed(bars)  # includes the final commit
    elapsed = time.perf_counter() - started
    runtime.stores.close()
    return elapsed


def _bar_to_fill_latencies(bars: list[BarClosed]) -> tuple[list[float], int]:
    """µs from publishing a bar to execution emitting the fill it caused (bars that traded only)."""
    runtime = _runtime(ONE, _memory)
    latencies: list[float] = []
    published_at = 0
    clock = time.perf_counter_ns

    def on_event(envelope: Envelope) -> None:
        if envelope.detail_type == "OrderFilled":
            latencies.append((clock() - published_at) / 1000)

    runtime.bus.observe(on_event)
    for bar in bars:
        published_at = clock()
        runtime.publish_bar(bar)
    return latencies, len(latencies)


if __name__ == "__main__":
    main()
