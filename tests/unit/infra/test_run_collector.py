"""The report's collector hears every bar on the bus: each market's closes in order, duplicates and late bars
left out (as the book ignores them), and the bar count is what it kept. A run restarted anywhere (its earlier bars
and fills read back from its state) reports exactly what an uninterrupted one does."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.ledger.equity import Timeline
from consumers.ledger.portfolio import build_portfolio
from events.dead_letters import DeadLetterList
from events.local_bus import LocalBus
from events.models import Event, OrderFilled
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
    record = collector.finish(starting_cash=Decimal(100), accounts=[], elapsed_s=1.0, dead_letters=0, gaps=0)
    assert record.closes == {
        ("binance", "BTC/USDT"): [(bar.open_time_ms, bar.close) for bar in bars],
        ("binance", "ETH/USDT"): [(bar.open_time_ms, bar.close) for bar in other],
    }
    assert record.bars == 40


MARKETS = [("binance", "BTC/USDT"), ("binance", "ETH/USDT")]


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[Event], int]:
    """Bars of two markets with fills (partial sizes, fees in quote and base) between them, in the order a run
    hears them, and the point a restart cuts it at."""
    bars = list(itertools.islice(open_sources([MARCH], DeadLetterList()), 12))
    events: list[Event] = []
    for n, bar in enumerate(bars):
        for exchange, symbol in MARKETS:
            events.append(bar.model_copy(update={"exchange": exchange, "symbol": symbol}))
            for strategy in draw(st.lists(st.sampled_from(["sma", "rsi"]), max_size=2, unique=True)):
                events.append(
                    OrderFilled(
                        order_id=f"{strategy}-{symbol}-{n}",
                        strategy=strategy,
                        exchange=exchange,
                        symbol=symbol,
                        side=draw(st.sampled_from(["buy", "sell"])),
                        qty=draw(st.decimals(min_value="0.001", max_value="2", places=3)),
                        bar_open_time_ms=bar.open_time_ms,
                        price=bar.close,
                        fee=draw(st.sampled_from([Decimal(0), Decimal("0.5")])),
                        fee_base=draw(st.sampled_from([Decimal(0), Decimal("0.0001")])),
                    )
                )
    return events, draw(st.integers(0, len(events)))


def _report(collector: RunCollector, earlier: list[OrderFilled]) -> tuple[object, ...]:
    accounts = [(strategy, *market) for strategy in ("rsi", "sma") for market in MARKETS]
    record = collector.finish(
        starting_cash=Decimal(1000), accounts=accounts, elapsed_s=1.0, dead_letters=0, gaps=0, earlier_fills=earlier
    )
    portfolio = build_portfolio(record.starting_cash_by_account(), Timeline.of(record.closes), record.fills)
    ledgers = [
        (ledger.cash, ledger.position, ledger.realised, ledger.fees_by_asset, ledger.round_trips)
        for ledger in portfolio.accounts.values()
    ]
    return record.bars, portfolio.curve, ledgers


@settings(max_examples=100, deadline=None)
@given(runs())
def test_a_run_restarted_anywhere_reports_what_an_uninterrupted_one_does(run: tuple[list[Event], int]) -> None:
    events, cut = run
    whole_bus = LocalBus(DeadLetterList())
    whole = RunCollector(whole_bus)
    for event in events:
        whole_bus.publish_event(event, lambda: datetime.now(UTC))
    before = RunCollector(first_bus := LocalBus(DeadLetterList()))
    for event in events[:cut]:
        first_bus.publish_event(event, lambda: datetime.now(UTC))
    # the restart: its state holds the bars and the settled fills from before; the rest arrives on a new bus
    resumed = RunCollector(second_bus := LocalBus(DeadLetterList()), before.closes)
    for event in events[cut:]:
        second_bus.publish_event(event, lambda: datetime.now(UTC))
    assert _report(resumed, list(before.fills.values())) == _report(whole, [])
