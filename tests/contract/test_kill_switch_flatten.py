"""A flatten over every store adapter: each position closed at market once, whatever the retries, then halt."""

from __future__ import annotations

from decimal import Decimal

from consumers.execution.consumer import ExecutionConsumer
from consumers.execution.paper import PaperBroker
from consumers.execution.risk import RiskPolicy
from consumers.stores.ports import AccountKey, Decision, KillSwitchState, Stores
from events.models import BarClosed, OrderFilled, OrderRejected
from tests.conftest import spot_day_bars
from tests.factories import order_requested

BTC_BAR, NEXT_BAR = spot_day_bars(2)
ETH_BAR = BTC_BAR.model_copy(update={"symbol": "ETH/USDT", "close": Decimal("1600")})
LONG_BTC = AccountKey("sma", "binance", "BTC/USDT")
SHORT_BTC = AccountKey("donchian", "binance", "BTC/USDT")
LONG_ETH = AccountKey("sma", "binance", "ETH/USDT")


def _hold(execution: ExecutionConsumer, stores: Stores, key: AccountKey, signed_qty: str) -> None:
    order = order_requested(key, 0, signed_qty, price="100")
    assert stores.book.decide(Decision(key, 0, order.target, order))
    [fill] = execution.on_order(order)
    assert isinstance(fill, OrderFilled)


def _newest(*bars: BarClosed) -> dict[tuple[str, str], BarClosed]:
    return {(bar.exchange, bar.symbol): bar for bar in bars}


def test_flatten_closes_each_position_once_then_halts(stores: Stores) -> None:
    execution = ExecutionConsumer(stores.book, PaperBroker(), RiskPolicy(), stores.kill_switch, fee_bps=Decimal(10))
    _hold(execution, stores, LONG_BTC, "2")
    _hold(execution, stores, SHORT_BTC, "-1")
    _hold(execution, stores, LONG_ETH, "3")
    flatten = KillSwitchState.new("flatten", "exchange incident")
    stores.kill_switch.engage(flatten)
    assert execution.flatten(lambda: {}) == []  # no price for any position yet: nothing closes, still flatten

    # a strategy's order while flattening: one that adds is refused, as in reduce-only
    adding = order_requested(LONG_BTC, 60_000, "1", target="3")
    assert stores.book.decide(Decision(LONG_BTC, 60_000, adding.target, adding))
    [refused] = execution.on_order(adding)
    assert isinstance(refused, OrderRejected) and refused.reason.startswith("kill switch engaged (flatten: ")

    first = execution.flatten(lambda: _newest(BTC_BAR))  # ETH has no bar yet: its position waits
    assert sorted((fill.strategy, fill.side, fill.qty) for fill in first) == [
        ("donchian", "buy", Decimal(1)),
        ("sma", "sell", Decimal(2)),
    ]
    assert all(isinstance(fill, OrderFilled) and fill.price == BTC_BAR.close for fill in first)
    assert stores.kill_switch.engaged() == flatten
    assert sorted(execution.flatten(lambda: _newest(BTC_BAR)), key=str) == sorted(first, key=str)  # a retry

    last = execution.flatten(lambda: _newest(NEXT_BAR, ETH_BAR))
    assert {(fill.strategy, fill.symbol, fill.side, fill.qty) for fill in last} >= {
        ("sma", "ETH/USDT", "sell", Decimal(3))
    }
    assert stores.kill_switch.engaged() == KillSwitchState(
        "halt", "flattened (3 closed): exchange incident", flatten.engagement
    )
    assert execution.flatten(lambda: _newest(NEXT_BAR, ETH_BAR)) == []  # halted: a redelivered minute does nothing

    positions = {account.key: (account.position, account.pending) for account in stores.book.accounts()}
    assert positions == {key: (Decimal(0), Decimal(0)) for key in (LONG_BTC, SHORT_BTC, LONG_ETH)}
    closes = [record for record in stores.book.orders() if record.request.target == 0]
    assert len(closes) == 3 and all(isinstance(record.settlement, OrderFilled) for record in closes)
