"""`stds halt --mode flatten` on a running local runtime: at the next minute every position closes at the newest
close, the fills go out on the bus, the switch turns to halt, and the strategy trades no more."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from consumers.execution.risk import RiskPolicy
from consumers.stores.ports import KillSwitchState, Stores
from consumers.strategies.base import Strategy
from consumers.strategies.window import Window
from events.dead_letters import DeadLetterList
from events.ids import flatten_order_id
from events.models import BarClosed, OrderFilled, OrderRejected
from infra.cli.kill_switch import run as kill_switch_command
from infra.config import PaperConfig, StdsConfig, StrategyLine
from infra.local.runtime import LocalRuntime
from infra.local.stores import sqlite_stores
from infra.strategy_loader import LoadedStrategy, load_strategies
from tests.conftest import REPO_ROOT, spot_day_bars

PATTERN = {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1m"]}}


def test_flatten_from_the_cli_closes_the_running_books_positions_then_halts(tmp_path: Path) -> None:
    config = StdsConfig(strategies={"sma": StrategyLine(use="sma_cross", params={"fast": 3, "slow": 8})})
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


class AlwaysLong(Strategy):
    """Holds one BTC from its first bar on: a position is there to close whenever a flatten comes."""

    name = "always_long"

    @property
    def lookback(self) -> int:
        return 1

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        return Decimal(1)


def _always_long_runtime(state: Path) -> tuple[LocalRuntime, Stores, list[OrderFilled | OrderRejected]]:
    stores = sqlite_stores(state, Decimal(100_000), 100)
    runtime = LocalRuntime(
        [LoadedStrategy("long", AlwaysLong(), PATTERN)],
        stores,
        DeadLetterList(),
        risk=RiskPolicy(),
        paper=PaperConfig(),
    )
    heard: list[OrderFilled | OrderRejected] = []
    runtime.bus.subscribe(
        "test", {"detail-type": ["OrderFilled", "OrderRejected"]}, lambda e: heard.append(e.detail) or []
    )
    return runtime, stores, heard


def _engaging_before(bars: list[BarClosed], index: int, engage: Callable[[], None]) -> Iterator[BarClosed]:
    """The bars as one feed, with the switch engaged just before bar `index` (relative to `bars`) is published."""
    for position, bar in enumerate(bars):
        if position == index:
            engage()
        yield bar


def _closes_of(heard: list[OrderFilled | OrderRejected], engagement: str) -> list[OrderFilled | OrderRejected]:
    return [event for event in heard if event.order_id == flatten_order_id(engagement, "long", "binance", "BTC/USDT")]


def test_a_flatten_engaged_in_the_same_process_closes_at_the_next_minute_once(tmp_path: Path) -> None:
    runtime, stores, heard = _always_long_runtime(tmp_path / "state.sqlite")
    bars = spot_day_bars(300)
    flatten = KillSwitchState.new("flatten", "exchange incident")

    runtime.feed(_engaging_before(bars, 100, lambda: stores.kill_switch.engage(flatten)))

    (close,) = _closes_of(heard, flatten.engagement)
    assert isinstance(close, OrderFilled) and close.side == "sell" and close.price == bars[99].close
    assert stores.kill_switch.engaged() == KillSwitchState(
        "halt", "flattened (1 closed): exchange incident", flatten.engagement
    )
    (account,) = stores.book.accounts()
    assert (account.position, account.pending, account.fills) == (Decimal(0), Decimal(0), 2)
    stores.close()


def test_a_flatten_engaged_by_another_process_mid_feed_closes_after_the_next_commit_once(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    runtime, stores, heard = _always_long_runtime(state)
    bars = spot_day_bars(768)
    runtime.feed(bars[:256])  # ends in a commit, as each tick of a live run does
    heard.clear()  # the first bar's buy

    def from_another_shell() -> None:
        kill_switch_command(argparse.Namespace(db=state, mode="flatten", reason="exchange incident"))

    runtime.feed(_engaging_before(bars[256:512], 44, from_another_shell))  # read at bar 256, remembered till the commit
    assert heard == [] and stores.book.accounts()[0].position == 1
    runtime.feed(bars[512:])

    switch = stores.kill_switch.engaged()
    assert switch is not None and switch.mode == "halt" and switch.reason == "flattened (1 closed): exchange incident"
    (close,) = _closes_of(heard, switch.engagement)
    assert isinstance(close, OrderFilled) and close.side == "sell" and close.price == bars[511].close
    assert all(isinstance(event, OrderRejected) for event in heard if event is not close)
    (account,) = stores.book.accounts()
    assert (account.position, account.pending, account.fills) == (Decimal(0), Decimal(0), 2)
    stores.close()
