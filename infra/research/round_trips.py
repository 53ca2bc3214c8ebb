"""Round trips and win rate of one item's fills, for results.csv.

To be replaced by the portfolio ledger's (consumers/, being built): this is the one place that computes them here.
A round trip runs from a flat position back to flat (a fill that crosses zero closes one and opens the next);
its result is what it realised on the average entry price, less every fee paid along the way."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from events.models import OrderFilled
from infra.report.summary import quote_fees

ZERO = Decimal(0)


def round_trip_results(fills: Sequence[OrderFilled]) -> list[Decimal]:
    """Each closed round trip's realised PnL after fees, per sub-account (strategy, exchange, symbol), in order."""
    results: list[Decimal] = []
    books: dict[tuple[str, str, str], tuple[Decimal, Decimal, Decimal]] = {}  # position, average price, result
    for fill in fills:
        account = (fill.strategy, fill.exchange, fill.symbol)
        position, average, result = books.get(account, (ZERO, ZERO, ZERO))
        change = fill.position_change
        result -= quote_fees(fill)
        if position and (position > 0) != (change > 0):  # reduces, closes or crosses
            closed = min(abs(change), abs(position))
            sign = 1 if position > 0 else -1
            result += (fill.price - average) * closed * sign
            remainder = position + change
            if not remainder or (remainder > 0) != (position > 0):
                results.append(result)
                result = ZERO
                position, average = remainder, fill.price if remainder else ZERO
            else:
                position = remainder
        else:  # opens or adds: the average entry moves
            new_position = position + change
            average = (average * abs(position) + fill.price * abs(change)) / abs(new_position)
            position = new_position
        books[account] = (position, average, result)
    return results


def round_trip_figures(fills: Sequence[OrderFilled]) -> dict[str, Any]:
    results = round_trip_results(fills)
    wins = sum(1 for result in results if result > 0)
    return {
        "round_trips": len(results),
        "round_trips_won": wins,
        "win_rate_pct": round(wins / len(results) * 100, 2) if results else None,
    }
