"""Round-trip statistics as `freqtrade backtesting` prints them: trips, wins, draws, losses, win rate, profit
factor, expectancy, average and longest duration, best and worst trade; overall, per pair, per day and per week
(a trip counts on the day and ISO week it closed, UTC). The dashboard calls `trade_statistics` too."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from consumers.ledger.account import RoundTrip

ZERO = Decimal(0)
CENTS_OF_CENTS = Decimal("1E-8")  # the average profit a trip, to 8 places


def trip_table(trips: Iterable[RoundTrip]) -> dict[str, Any]:
    """One row of figures for these trips (money as exact strings, durations in seconds)."""
    trips = list(trips)
    profits = [trip.profit for trip in trips]
    gains = sum((profit for profit in profits if profit > 0), ZERO)
    losses = -sum((profit for profit in profits if profit < 0), ZERO)
    wins = sum(1 for profit in profits if profit > 0)
    durations = [trip.duration_ms // 1000 for trip in trips]
    best = max(trips, key=lambda trip: trip.profit_pct, default=None)
    worst = min(trips, key=lambda trip: trip.profit_pct, default=None)
    return {
        "round_trips": len(trips),
        "wins": wins,
        "draws": sum(1 for profit in profits if profit == 0),
        "losses": sum(1 for profit in profits if profit < 0),
        "win_rate_pct": round(wins / len(trips) * 100, 2) if trips else 0.0,
        "profit": str(sum(profits, ZERO)),
        "profit_factor": round(float(gains / losses), 4) if losses else None,  # None: no losing trip
        "expectancy": str((sum(profits, ZERO) / len(trips)).quantize(CENTS_OF_CENTS)) if trips else "0",
        "avg_profit_pct": round(sum(trip.profit_pct for trip in trips) / len(trips), 4) if trips else 0.0,
        "avg_duration_s": round(sum(durations) / len(durations)) if durations else 0,
        "max_duration_s": max(durations, default=0),
        "best_pct": round(best.profit_pct, 4) if best else None,
        "worst_pct": round(worst.profit_pct, 4) if worst else None,
    }


def trade_statistics(trips: Iterable[RoundTrip]) -> dict[str, Any]:
    """Overall, per pair (strategy × symbol), per day and per week, each a table as `trip_table`."""
    trips = sorted(trips, key=lambda trip: trip.exit_time_ms)
    return {
        "total": trip_table(trips),
        "per_pair": _grouped(trips, lambda trip: f"{trip.strategy} {trip.symbol}"),
        "per_day": _grouped(trips, lambda trip: _utc(trip.exit_time_ms).strftime("%Y-%m-%d")),
        "per_week": _grouped(trips, lambda trip: "{}-W{:02d}".format(*_utc(trip.exit_time_ms).isocalendar()[:2])),
    }


def _grouped(trips: list[RoundTrip], key: Callable[[RoundTrip], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[RoundTrip]] = {}
    for trip in trips:
        groups.setdefault(key(trip), []).append(trip)
    return {name: trip_table(group) for name, group in sorted(groups.items())}


def _utc(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
