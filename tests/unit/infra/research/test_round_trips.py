"""Round trips and win rate from an item's fills (hand-worked books)."""

from __future__ import annotations

from decimal import Decimal

from events.models import OrderFilled
from infra.research.round_trips import round_trip_figures, round_trip_results


def fill(side: str, qty: str, price: str, fee: str = "0", *, at: int = 0, strategy: str = "s") -> OrderFilled:
    return OrderFilled(
        order_id=f"o{at}{strategy}",
        strategy=strategy,
        exchange="binance",
        symbol="BTC/USDT",
        side=side,
        qty=Decimal(qty),
        price=Decimal(price),
        fee=Decimal(fee),
        bar_open_time_ms=at * 60_000,
    )


def test_a_long_round_trip_earns_the_move_less_both_fees() -> None:
    fills = [fill("buy", "1", "100", "0.1", at=1), fill("sell", "1", "110", "0.11", at=2)]
    assert round_trip_results(fills) == [Decimal("9.79")]


def test_adding_then_closing_in_two_steps_is_one_trip_on_the_average_price() -> None:
    fills = [
        fill("buy", "1", "100", at=1),
        fill("buy", "1", "120", at=2),  # average 110
        fill("sell", "1", "100", at=3),  # -10, still open
        fill("sell", "1", "130", at=4),  # +20, flat
    ]
    assert round_trip_results(fills) == [Decimal("10")]


def test_a_fill_that_crosses_zero_closes_one_trip_and_opens_the_next() -> None:
    fills = [fill("buy", "1", "100", at=1), fill("sell", "2", "90", at=2), fill("buy", "1", "80", at=3)]
    assert round_trip_results(fills) == [Decimal("-10"), Decimal("10")]


def test_an_open_position_is_not_a_round_trip_and_accounts_stay_apart() -> None:
    fills = [fill("buy", "1", "100", at=1, strategy="a"), fill("sell", "1", "90", at=2, strategy="b")]
    assert round_trip_results(fills) == []


def test_win_rate_counts_trips_that_made_money() -> None:
    fills = [
        fill("buy", "1", "100", at=1),
        fill("sell", "1", "101", at=2),
        fill("buy", "1", "100", at=3),
        fill("sell", "1", "99", at=4),
        fill("buy", "1", "100", at=5),
        fill("sell", "1", "105", at=6),
    ]
    assert round_trip_figures(fills) == {"round_trips": 3, "round_trips_won": 2, "win_rate_pct": 66.67}
    assert round_trip_figures([]) == {"round_trips": 0, "round_trips_won": 0, "win_rate_pct": None}
