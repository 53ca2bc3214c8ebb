"""Money as the terminal shows it: an exact amount rounded for reading to its quote asset's places, cents for fiat
and dollar stablecoins, satoshis (8 places) for a crypto quote. Files (summary.json, trades.csv, equity.csv) keep
the exact amounts; only what a person reads is rounded."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

from consumers.ledger.fills import assets_of

CENTS = 2
CRYPTO_PLACES = 8
# A quote whose smallest useful unit is a cent; any other quote (BTC, ETH, BNB…) is shown to 8 places.
CENT_QUOTES = frozenset(
    {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "USD", "EUR", "GBP", "TRY", "BRL", "AUD", "JPY", "QUOTE"}
)


def money(amount: Decimal | str | float, places: int = CENTS) -> str:
    """'-7,927.73' for -7927.730478005052662: rounded half to even, thousands grouped, never '-0.00'."""
    exact = Decimal(str(amount))
    if not exact.is_finite():
        return str(exact)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if rounded.is_zero():
        rounded = abs(rounded)
    return f"{rounded:,f}"


def quote_places(quote: str) -> int:
    return CENTS if quote.upper() in CENT_QUOTES else CRYPTO_PLACES


def places_for(symbols: Iterable[str]) -> int:
    """The places that show every quote among `symbols` (cents when there are none)."""
    return max((quote_places(assets_of(symbol)[1]) for symbol in symbols), default=CENTS)
