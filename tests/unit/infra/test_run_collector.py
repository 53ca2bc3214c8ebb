"""The report's collector hears every bar on the bus: each market's closes in order, duplicates and late bars
left out (as the book ignores them), and the bar count is what it kept."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from events.dead_letters import DeadLetterList
from events.local_bus import LocalBus
from infra.local.collector import RunCollector
from producers.replay.sources import open_sources
from tests.conftest import SHARED_DATA

MARCH = SHARED_DATA / "binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv"


def test_closes_are_kept_per_market_without_duplicates_or_late_bars() -> None:
    bars = list(itertools.islice(open_sources([MARCH], DeadLetterList()), 30))
    other = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in bars[:10]]
    bus = LocalBus(DeadLetterList())
    collector = RunCollector(bus)
    for bar in [*bars[:20], bars[19], bars[5], *other, *bars[20:]]:  # a duplicate, a late bar, another market
        bus.publish_event(bar, lambda: datetime.now(UTC))
    record = collector.record(starting_cash=Decimal(100), accounts=[], elapsed_s=1.0, dead_letters=0, gaps=0)
    assert record.closes == {
        ("binance", "BTC/USDT"): [(bar.open_time_ms, bar.close) for bar in bars],
        ("binance", "ETH/USDT"): [(bar.open_time_ms, bar.close) for bar in other],
    }
    assert record.bars == 40
