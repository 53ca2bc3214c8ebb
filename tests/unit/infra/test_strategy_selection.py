"""A strategy's bar pattern takes the same bars in replay (the local bus) and on Lambda (rows of a minute batch)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from consumers.execution.risk import RiskPolicy
from consumers.strategies.app import StrategyApp
from events.dead_letters import DeadLetterList
from events.minute_batches import batches_of
from events.models import BarClosed, Event
from events.patterns import compile_pattern
from infra.config import PaperConfig
from infra.local.runtime import LocalRuntime
from infra.local.stores import memory_stores
from tests.conftest import spot_day_bars

BTC = spot_day_bars(limit=40)
BARS = [bar for btc in BTC for bar in (btc, btc.model_copy(update={"symbol": "ETH/USDT"}))]

PATTERNS = [
    # on the envelope's time: the bar's close, never the moment the function runs
    {"detail-type": ["BarClosed"], "time": [{"prefix": "2023-01-21T00:1"}]},
    {"detail-type": ["BarClosed"], "time": [{"wildcard": "*T00:3*"}], "detail": {"symbol": ["ETH/USDT"]}},
    {"detail-type": ["BarClosed"], "time": [{"anything-but": {"prefix": "2023-01-21T00:0"}}]},
    {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"], "close": [{"prefix": "2266"}]}},
]


class Recorder:
    """Stands in for the strategy consumer: which bars the function hands it."""

    def __init__(self) -> None:
        self.bars: list[BarClosed] = []

    def on_bars(self, bars: Sequence[BarClosed]) -> list[Event]:
        self.bars.extend(bars)
        return []


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_takes_the_same_bars_in_replay_and_on_lambda(pattern: dict[str, Any]) -> None:
    runtime = LocalRuntime(
        [], memory_stores(Decimal(100_000), 50), DeadLetterList(), risk=RiskPolicy(), paper=PaperConfig()
    )
    replayed: list[BarClosed] = []
    runtime.bus.subscribe_detail("strategy", pattern, lambda bar: replayed.append(bar) or [])
    for bar in BARS:
        runtime.publish_bar(bar)

    recorder = Recorder()
    app = StrategyApp(recorder, runtime.bus, compile_pattern(pattern))  # type: ignore[arg-type]
    for batch in batches_of(BARS):
        app.on_batch(batch, batch.closed_at)

    assert [bar.event_id for bar in recorder.bars] == [bar.event_id for bar in replayed]
    assert 0 < len(replayed) < len(BARS)  # each pattern takes some bars and leaves others
