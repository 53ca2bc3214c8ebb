"""A group of strategies taking each bar in one bus delivery does exactly what its consumers do subscribed one by
one (the oracle, kept here): the same events in the same order, the same book, the same dead letters, whatever order
and how often the bars come, and a consumer that fails is dead-lettered under its own name while the others decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.stores.memory import MemoryBook
from consumers.stores.ports import AccountKey, Decision
from consumers.strategies.consumer import StrategyConsumer
from consumers.strategies.sma_cross import SmaCross
from events.dead_letters import DeadLetterList
from events.envelope import Envelope
from events.local_bus import LocalBus
from events.models import BarClosed, Event
from infra.local.consumer_group import ConsumerGroup, runs_of_one_pattern
from infra.local.stores import memory_stores
from infra.strategy_loader import LoadedStrategy
from tests.conftest import spot_day_bars

BARS = spot_day_bars(limit=160)
BTC = {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}}
ETH = {"detail-type": ["BarClosed"], "detail": {"symbol": ["ETH/USDT"]}}
PARAMS = [{"fast": 2, "slow": 5, "mode": "long_short"}, {"fast": 3, "slow": 5}, {"fast": 4, "slow": 12}, {}]
BROKEN = "sma-broken"  # its book refuses some of its decisions with an error: a failure the consumer does not catch


class FlakyBook(MemoryBook):
    def decide(self, decision: Decision) -> bool:
        _fail_sometimes(decision.account, decision.bar_open_time_ms)
        return super().decide(decision)

    def move_cursor(self, key: AccountKey, bar_open_time_ms: int, target: Decimal) -> bool:
        _fail_sometimes(key, bar_open_time_ms)
        return super().move_cursor(key, bar_open_time_ms, target)


def _fail_sometimes(key: AccountKey, bar_open_time_ms: int) -> None:
    if key.strategy == BROKEN and bar_open_time_ms // 60_000 % 9 == 0:
        raise RuntimeError(f"book unavailable at {bar_open_time_ms}")


def delivered(bars: list[BarClosed], *, grouped: bool) -> dict[str, Any]:
    stores = memory_stores(Decimal(100_000), 400)
    book = FlakyBook(Decimal(100_000))
    dead_letters = DeadLetterList()
    bus = LocalBus(dead_letters)
    names = [f"sma-{index}" for index in range(len(PARAMS))]
    names.insert(2, BROKEN)
    params = [*PARAMS[:2], {"fast": 2, "slow": 5}, *PARAMS[2:]]
    consumers = tuple(
        StrategyConsumer(name, SmaCross(each), stores.bars, book, dead_letters)
        for name, each in zip(names, params, strict=True)
    )
    if grouped:
        group = ConsumerGroup(consumers, stores.bars, dead_letters)
        bus.subscribe_detail(group.name, BTC, group.on_bar)
    else:  # the oracle: each consumer subscribed alone, as the runtime subscribed them before grouping
        for consumer in consumers:
            bus.subscribe_detail(consumer.name, BTC, consumer.on_bar)
    caused: list[Event] = []

    def seen(envelope: Envelope) -> list[Event]:
        caused.append(envelope.detail)
        return []

    bus.subscribe("seen", {"detail-type": ["OrderRequested", "TargetChanged"]}, seen)
    for bar in bars:
        bus.publish_event(bar, lambda bar=bar: bar.closed_at)
    return {
        "caused": caused,
        "accounts": sorted((a.key, a.target, a.pending, a.decided_through_ms) for a in book.accounts()),
        "dead_letters": [(letter.origin, letter.error, letter.payload) for letter in dead_letters],
    }


def test_a_group_in_order_does_what_its_consumers_do_one_by_one() -> None:
    alone = delivered(BARS, grouped=False)
    assert len(alone["caused"]) > 20 and alone["dead_letters"]  # trades, and the broken one failed: not blind
    assert alone["dead_letters"][0][0].startswith(f"subscription {BROKEN}, event ")
    assert delivered(BARS, grouped=True) == alone


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_group_with_bars_late_early_and_twice_does_what_its_consumers_do(data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(40)))
    again = data.draw(st.lists(st.integers(0, 39), max_size=10))
    bars = [BARS[index] for index in [*order, *again]] + BARS[40:80]
    assert delivered(bars, grouped=True) == delivered(bars, grouped=False)


def spec(name: str, pattern: dict[str, Any]) -> LoadedStrategy:
    return LoadedStrategy(name, SmaCross({}), pattern)


def test_only_neighbours_with_one_pattern_are_grouped_so_the_order_of_deliveries_stays() -> None:
    specs = [spec("a", BTC), spec("b", BTC), spec("c", ETH), spec("d", BTC), spec("e", BTC), spec("f", BTC)]
    assert [[s.name for s in run] for run in runs_of_one_pattern(specs)] == [["a", "b"], ["c"], ["d", "e", "f"]]
    assert list(runs_of_one_pattern([])) == []
