"""What the `stds sweep` end-to-end tests share: the real March 2025 bars cut to size, the command, its outputs, and
the standalone replay every item is held to."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from infra.cli import main
from tests.conftest import REPO_ROOT, SHARED_DATA

MARCH = SHARED_DATA / "binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv"
SMALL_GRID = ["--grid", "fast=5,10", "--grid", "slow=20,30", "--grid", "mode=long_flat,long_short"]


def march_head(folder: Path, bars: int) -> Path:
    """The first `bars` bars of March 2025, as a ccxt OHLCV file in `folder`."""
    path = folder / "BTCUSDT_1m_head.csv"
    with MARCH.open() as source:
        path.write_text("".join(line for _, line in zip(range(bars + 1), source, strict=False)))
    return path


def sweep(bars: Path, out: Path, *options: str) -> int:
    return main(["sweep", str(bars), "--strategy", "sma_cross", "--out", str(out), "--no-progress", *options])


def items(out: Path) -> dict[str, dict[str, object]]:
    return {path.stem: json.loads(path.read_text()) for path in (out / "items").glob("*.json")}


def results(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open() as handle:
        return list(csv.DictReader(handle))


def replay(bars: Path, out: Path, params: dict[str, str]) -> None:
    options = [item for name, value in params.items() for item in ("--param", f"{name}={value}")]
    assert main(["replay", str(bars), "--strategy", "sma_cross", *options, "--out", str(out), "--no-chart"]) == 0


SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def kill_9_after_the_first_item(command: list[str], out: Path) -> None:
    """Starts `command` (a sweep into `out`) and kills it -9 the moment its first item is written."""
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=SUBPROCESS_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120  # a hung sweep fails the test instead of hanging it; not a wait
        while not list((out / "items").glob("*.json")) if (out / "items").exists() else True:
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no item finished in 120 s"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
