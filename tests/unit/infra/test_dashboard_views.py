"""The dashboard's numbers: PnL split into realised and unrealised without losing a unit, charts never given more
points than asked, the newest activity first, and what may listen beyond loopback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.stores.ports import Account, AccountKey, OrderRecord
from events.models import OrderFilled, OrderRejected, OrderRequested
from infra.dashboard.access import UnsafeBind, dashboard_token, is_loopback
from infra.dashboard.book_view import account_pnl, activity, trip_statistics
from infra.dashboard.series_view import bucket_ms_for
from infra.dashboard.source import Fill

KEY = AccountKey("sma", "binance", "BTC/USDT")
START = Decimal(100_000)

trades = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.decimals(min_value="0.001", max_value="5", places=3),
        st.decimals(min_value="0.5", max_value="90000", places=2),
    ),
    max_size=30,
)


def _fills(sequence: list[tuple[str, Decimal, Decimal]]) -> list[Fill]:
    return [
        Fill.of_values(
            order_id=f"o{n}",
            strategy=KEY.strategy,
            exchange=KEY.exchange,
            symbol=KEY.symbol,
            side=side,
            qty=qty,
            bar_open_time_ms=60_000 * n,
            price=price,
            fee=qty * price * Decimal("0.001"),
        )
        for n, (side, qty, price) in enumerate(sequence)
    ]


def _account(fills: list[Fill]) -> Account:
    cash = START - sum((f.signed_qty * f.price + f.fee for f in fills), Decimal(0))
    return Account(
        KEY,
        cash=cash,
        position=sum((f.position_change for f in fills), Decimal(0)),
        fees=sum((f.fee for f in fills), Decimal(0)),
    )


@given(trades, st.decimals(min_value="0.5", max_value="90000", places=2))
def test_realised_plus_unrealised_is_the_pnl_to_the_last_unit(
    sequence: list[tuple[str, Decimal, Decimal]], last: Decimal
) -> None:
    fills = _fills(sequence)
    account = _account(fills)
    pnl = account_pnl(account, fills, last)
    assert pnl.starting_cash == START
    assert pnl.total == account.cash + account.position * last - START
    assert pnl.realised + pnl.unrealised == pnl.total  # FIFO lots realised, the open ones marked: not a remainder
    if account.position == 0:
        assert pnl.unrealised == 0


def test_a_round_trip_is_realised_and_an_open_position_is_unrealised() -> None:
    fills = _fills([("buy", Decimal(2), Decimal(100)), ("sell", Decimal(1), Decimal(110))])
    pnl = account_pnl(_account(fills), fills, Decimal(120))
    assert pnl.unrealised == Decimal(20)  # one unit held from 100, marked at 120
    assert pnl.realised == Decimal(10) - sum((f.fee for f in fills), Decimal(0))  # one unit sold 10 higher, less fees


@given(st.integers(0, 10**13), st.integers(0, 60 * 24 * 3600 * 1000), st.integers(1, 5000))
def test_a_chart_never_gets_more_buckets_than_points(start_ms: int, span_ms: int, points: int) -> None:
    bucket_ms = bucket_ms_for(start_ms, start_ms + span_ms, points)
    assert bucket_ms % 60_000 == 0
    assert span_ms // bucket_ms + 1 <= max(points, 1) + 1


def test_activity_lists_newest_first_with_reject_reasons() -> None:
    def request(minute: int) -> OrderRequested:
        return OrderRequested(
            order_id=f"o{minute}", strategy="sma", exchange="binance", symbol="BTC/USDT", side="buy",
            qty=Decimal(1), bar_open_time_ms=minute * 60_000, target=Decimal(1), reference_price=Decimal(100),
        )  # fmt: skip

    filled = OrderRecord(request(1), OrderFilled(**request(1).identity(), price=Decimal(100), fee=Decimal("0.1")))
    refused = OrderRecord(request(3), OrderRejected(**request(3).identity(), reason="kill switch engaged: test"))
    waiting = OrderRecord(request(2))
    shown = activity([filled, waiting], [refused], limit=10)
    assert [row["time_ms"] for row in shown["targets"]] == [180_000, 120_000, 60_000]
    assert [row["status"] for row in shown["targets"]] == ["rejected", "pending", "filled"]
    assert shown["rejects"] == [{**shown["rejects"][0], "reason": "kill switch engaged: test"}]
    assert [row["price"] for row in shown["fills"]] == ["100"]


def test_only_loopback_listens_without_a_password() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    token, own = dashboard_token("127.0.0.1", {})
    assert len(token) >= 32 and not own
    password = "s3cret-of-16-chars"
    assert dashboard_token("0.0.0.0", {"STDS_DASHBOARD_TOKEN": password}) == (password, True)
    with pytest.raises(UnsafeBind, match="STDS_DASHBOARD_TOKEN"):
        dashboard_token("0.0.0.0", {})


def test_the_page_gets_the_round_trip_statistics_of_the_summary() -> None:
    fills = _fills([("buy", Decimal(1), Decimal(100)), ("sell", Decimal(1), Decimal(110))])
    statistics = trip_statistics([_account(fills)], {KEY: fills})
    assert statistics["total"]["round_trips"] == 1 and statistics["total"]["wins"] == 1
    assert statistics["per_pair"]["sma BTC/USDT"]["profit"] == str(Decimal(10) - sum(f.fee for f in fills))
