"""The pure part: what the book says each asset should be on the exchange, and how the exchange differs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from consumers.stores.ports import Account

ZERO = Decimal(0)
Status = Literal["agrees", "in flight", "differs"]


@dataclass(frozen=True, slots=True)
class AssetComparison:
    asset: str
    exchange: Decimal
    book: Decimal  # the sum of the sub-accounts
    baseline: Decimal  # held outside STDS, configured by the user
    status: Status

    @property
    def difference(self) -> Decimal:
        return self.exchange - self.book - self.baseline

    def describe(self) -> str:
        return (
            f"{self.asset}: exchange {plain(self.exchange)} vs book {plain(self.book)} + baseline "
            f"{plain(self.baseline)} (difference {'+' if self.difference > 0 else ''}{plain(self.difference)})"
        )


def plain(value: Decimal) -> str:
    """1.5000 as 1.5 and 0E-16 as 0: the exchange and the book carry different numbers of places."""
    return f"{value.normalize():f}"


def book_holdings(accounts: Iterable[Account], assets_of: Callable[[str], tuple[str, str]]) -> dict[str, Decimal]:
    """Per asset, the sum of the sub-accounts: positions in the base, cash in the quote, minus the
    commissions each paid in a third asset (BNB)."""
    held: dict[str, Decimal] = {}
    for account in accounts:
        base, quote = assets_of(account.key.symbol)
        held[base] = held.get(base, ZERO) + account.position
        held[quote] = held.get(quote, ZERO) + account.cash
        for asset, paid in account.fee_assets.items():
            held[asset] = held.get(asset, ZERO) - paid
    return held


def compare(
    book: Mapping[str, Decimal],
    baseline: Mapping[str, Decimal],
    exchange: Mapping[str, Decimal],
    tolerance: Decimal,
    in_flight: frozenset[str] = frozenset(),
) -> list[AssetComparison]:
    """One row per asset the book or the baseline names (the exchange's other assets are not STDS's).
    A difference within `tolerance` agrees (the exchange rounds balances to its own precision); one in
    an asset with orders still in flight may be those orders and is not judged yet."""
    rows = []
    for asset in sorted(set(book) | set(baseline)):
        held, outside, actual = book.get(asset, ZERO), baseline.get(asset, ZERO), exchange.get(asset, ZERO)
        difference = actual - held - outside
        status: Status = "agrees" if abs(difference) <= tolerance else "in flight" if asset in in_flight else "differs"
        rows.append(AssetComparison(asset, actual, held, outside, status))
    return rows
