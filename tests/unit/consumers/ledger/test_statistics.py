"""Trade statistics of hand-made round trips: the figures freqtrade prints, overall and per pair, day and week."""

from __future__ import annotations

from decimal import Decimal

from consumers.ledger.account import RoundTrip
from consumers.ledger.statistics import trade_statistics, trip_table

DAY_MS = 86_400_000
MONDAY = 1_704_067_200_000  # 2024-01-01, a Monday


def trip(symbol: str, entry_ms: int, exit_ms: int, profit: str, notional: str = "1000") -> RoundTrip:
    return RoundTrip(
        "sma", "binance", symbol, "long", entry_ms, exit_ms, Decimal(1), Decimal(notional), Decimal(0),
        Decimal(profit), Decimal(0), 2,
    )  # fmt: skip


TRIPS = [
    trip("BTC/USDT", MONDAY, MONDAY + 3_600_000, "30"),  # +3 %
    trip("BTC/USDT", MONDAY + DAY_MS, MONDAY + DAY_MS + 60_000, "-10"),  # -1 %
    trip("ETH/USDT", MONDAY, MONDAY + 7 * DAY_MS, "0"),  # closes the next Monday, week 2
    trip("ETH/USDT", MONDAY, MONDAY + 120_000, "-20", notional="500"),  # -4 %
]


def test_the_totals_are_what_freqtrade_prints_first() -> None:
    assert trip_table(TRIPS) == {
        "round_trips": 4,
        "wins": 1,
        "draws": 1,
        "losses": 2,
        "win_rate_pct": 25.0,
        "profit": "0",
        "profit_factor": 1.0,  # 30 won over 30 lost
        "expectancy": "0E-8",
        "avg_profit_pct": -0.5,  # (3 - 1 + 0 - 4) / 4
        "avg_duration_s": (3600 + 60 + 7 * 86_400 + 120) // 4,
        "max_duration_s": 7 * 86_400,
        "best_pct": 3.0,
        "worst_pct": -4.0,
    }


def test_trips_are_grouped_by_pair_and_by_the_day_and_week_they_closed() -> None:
    statistics = trade_statistics(TRIPS)
    assert {name: row["profit"] for name, row in statistics["per_pair"].items()} == {
        "sma BTC/USDT": "20",
        "sma ETH/USDT": "-20",
    }
    assert {name: row["round_trips"] for name, row in statistics["per_day"].items()} == {
        "2024-01-01": 2,
        "2024-01-02": 1,
        "2024-01-08": 1,
    }
    assert {name: row["round_trips"] for name, row in statistics["per_week"].items()} == {"2024-W01": 3, "2024-W02": 1}


def test_no_trips_and_no_losses_have_no_profit_factor() -> None:
    assert trip_table([])["profit_factor"] is None and trip_table([])["win_rate_pct"] == 0.0
    assert trip_table(TRIPS[:1])["profit_factor"] is None
