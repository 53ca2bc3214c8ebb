"""`stds halt --mode flatten` on a running local runtime: at the next minute every position closes at the newest
close, the fills go out on the bus, the switch turns to halt, and the strategy trades no more."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from events.dead_letters import DeadLetterList
from events.ids import flatten_order_id
from events.models import OrderFilled, OrderRejected
from infra.cli.kill_switch import run as kill_switch_command
from infra.config import StdsConfig, StrategyConfig
from infra.local.runtime import LocalRuntime
from infra.local.stores import sqlite_stores
from infra.strategy_loader import load_strategies
from tests.conftest import REPO_ROOT, spot_day_bars


def test_flatten_from_the_cli_closes_the_running_books_positions_then_halts(tmp_path: Path) -> None:
    config = StdsConfig(strategies={"sma": StrategyConfig(use="sma_cross", params={"fast": 3, "slow": 8})})
    state = tmp_path / "state.sqlite"
    stores = sqlite_stores(state, Decimal(100_000), 100)
    runtime = LocalRuntime(
        load_strategies(config, REPO_ROOT), stores, DeadLetterList(), risk=config.risk_policy(), paper=config.paper
    )
    heard: list[OrderFilled | OrderRejected] = []
    runtime.bus.subscribe(
        "test", {"detail-type": ["OrderFilled", "OrderRejected"]}, lambda e: heard.append(e.detail) or []
    )
    bars = spot_day_bars(600)
    held_at = next(n for n in range(20, 600) if (runtime.feed(bars[n - 1 : n]), stores.book.accounts()[0].position)[1])
    runtime.feed([])  # a commit: what `stds halt` from another shell sees is the file
    kill_switch_command(argparse.Namespace(db=state, mode="flatten", reason="exchange incident"))
    heard.clear()

    runtime.feed(bars[held_at : held_at + 1])
    switch = stores.kill_switch.engaged()
    assert switch is not None and switch.mode == "halt"
    assert switch.reason == "flattened (1 closed): exchange incident"
    close = heard[0]
    assert close.order_id == flatten_order_id(switch.engagement, "sma", "binance", "BTC/USDT")
    assert isinstance(close, OrderFilled) and close.side == "sell" and close.price == bars[held_at - 1].close

    runtime.feed(bars[held_at + 1 :])
    (account,) = stores.book.accounts()
    assert (account.position, account.pending) == (Decimal(0), Decimal(0))
    assert all(isinstance(event, OrderRejected) for event in heard if event is not close)
    stores.close()
