"""A live run stopped and resumed ends with the same book as one that never stopped: the same fills, pnl and
equity at every bar, since the resumed report marks the fills before the restart with the bars before it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from events.models import BarClosed
from infra.config import StdsConfig, StrategyLine
from infra.local.live import LiveOptions, run_live
from producers.streamer.connection import ConnectionSettings
from producers.streamer.supervisor import StreamerSettings
from tests.conftest import spot_day_bars
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

BARS = spot_day_bars(limit=360)
CONFIG = StdsConfig(
    strategies={"sma": StrategyLine(use="sma_cross", params={"fast": 5, "slow": 20, "qty": "0.5"})},
)


def _run(out: Path, bars: list[BarClosed]) -> dict[str, Any]:
    stream = StreamerSettings(
        symbols=("BTC/USDT",), start_ms=BARS[0].open_time_ms, heartbeat_s=2, connection=ConnectionSettings(silence_s=2)
    )
    options = LiveOptions(
        config=CONFIG, config_dir=out, stream=stream, out=out, print_trades=False, duration_s=240
    )  # fmt: skip
    return asyncio.run(run_live(options, LocalBinance(Tape.of(bars), speed=12_000)))


def test_a_live_run_stopped_and_resumed_ends_as_one_that_never_stopped(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", BARS)
    _run(tmp_path / "resumed", BARS[:200])  # stopped after 200 bars
    resumed = _run(tmp_path / "resumed", BARS[200:])  # restarted on the same state, streaming from its cursor
    assert whole["trades"] > 10 and resumed["bars"] == whole["bars"] == len(BARS)
    for figure in ("pnl", "final_equity", "trades", "fees", "max_drawdown_pct", "sharpe"):
        assert resumed[figure] == whole[figure], figure
    assert resumed["accounts"] == whole["accounts"]
    for report in ("equity.csv", "trades.csv"):
        assert (tmp_path / "resumed" / report).read_bytes() == (tmp_path / "whole" / report).read_bytes(), report
