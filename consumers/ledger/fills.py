"""What the ledger needs of a fill: OrderFilled has it, and so has any lighter view a reader builds of one."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol


class LedgerFill(Protocol):
    @property
    def strategy(self) -> str: ...
    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal:
        """Commission in the quote asset."""
        ...

    @property
    def fee_base(self) -> Decimal:
        """Commission in the base asset (taken off the position)."""
        ...

    @property
    def fee_other(self) -> dict[str, Decimal]:
        """Commissions in other assets (BNB): booked as such, never valued."""
        ...

    @property
    def bar_open_time_ms(self) -> int: ...
    @property
    def signed_qty(self) -> Decimal: ...
    @property
    def cash_change(self) -> Decimal: ...
    @property
    def position_change(self) -> Decimal: ...


def quote_fee(fill: LedgerFill) -> Decimal:
    """The quote and base-asset commissions valued in the quote at the fill's price; other assets aside."""
    return fill.fee + fill.fee_base * fill.price


def assets_of(symbol: str) -> tuple[str, str]:
    """('BTC', 'USDT') of 'BTC/USDT' (a ccxt symbol; a futures ':USDT' settle suffix is dropped)."""
    base, _, quote = symbol.partition("/")
    return base, quote.partition(":")[0] or "QUOTE"
