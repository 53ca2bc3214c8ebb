"""What reconciliation needs from an exchange account and from the place its last result is kept."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from consumers.execution.broker import Execution, Refusal
from events.models import OrderRequested


@dataclass(frozen=True, slots=True)
class OpenOrder:
    client_order_id: str
    symbol: str
    side: str
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class StillOpen:
    """The exchange holds the order but has not finished it."""

    filled: Decimal


class ExchangeAccount(Protocol):
    def balances(self) -> dict[str, Decimal]:
        """Total (free + locked) per asset."""
        ...

    def open_orders(self, symbols: list[str]) -> list[OpenOrder]: ...

    def find(self, order: OrderRequested) -> Execution | Refusal | StillOpen | None:
        """The exchange's answer about this client order id, without ever placing it; None if unknown."""
        ...

    def assets_of(self, symbol: str) -> tuple[str, str]:
        """(base, quote) of a market."""
        ...


class ExchangeUnreachable(Exception):
    """The exchange did not answer for long enough; nothing can be concluded this time."""
