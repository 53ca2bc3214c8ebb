"""Exchange-native market ids (BTCUSDT) to ccxt unified symbols (BTC/USDT)."""

from __future__ import annotations

QUOTES_BY_KIND = (
    ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "USD"),  # dollars and dollar stablecoins
    ("BTC", "ETH", "BNB", "XRP", "DOGE", "TRX"),  # crypto
    ("EUR", "GBP", "TRY", "BRL", "JPY", "AUD", "UAH", "RUB", "ZAR", "PLN", "RON", "ARS", "MXN", "COP", "IDR"),  # fiat
)
# Longest first, so FDUSD wins over USD and USDT over USD.
QUOTE_ASSETS = sorted((asset for kind in QUOTES_BY_KIND for asset in kind), key=len, reverse=True)


def unified_symbol(market_id: str) -> str | None:
    """`BTCUSDT` → `BTC/USDT`; a symbol already unified is returned as is; None if no known quote fits."""
    market_id = market_id.strip().upper()
    if "/" in market_id:
        return market_id
    for quote in QUOTE_ASSETS:
        if market_id.endswith(quote) and len(market_id) > len(quote):
            return f"{market_id[: -len(quote)]}/{quote}"
    return None
