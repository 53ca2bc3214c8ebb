"""What a finished run hands to its report."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from events.models import OrderFilled, OrderRejected


@dataclass(frozen=True)
class FinishedRun:
    starting_cash: Decimal  # per sub-account
    accounts: list[tuple[str, str, str]]  # (strategy, exchange, symbol) sub-accounts
    closes: dict[tuple[str, str], list[tuple[int, Decimal]]]  # (exchange, symbol) → [(open_time_ms, close)]
    fills: list[OrderFilled]  # in bar order, one per order id
    rejects: list[OrderRejected]
    bars: int
    elapsed_s: float
    dead_letters: int = 0
    gaps: int = 0
    timeframe: str = "1m"  # the bars' length: what annualises the per-bar figures
    warnings: list[str] = field(default_factory=list)  # for the user, in summary.json and on the terminal

    def starting_cash_by_account(self) -> dict[tuple[str, str, str], Decimal]:
        """Every sub-account (those only a fill names too, after the others) with the cash it started with."""
        accounts = dict.fromkeys(self.accounts) | dict.fromkeys((f.strategy, f.exchange, f.symbol) for f in self.fills)
        return dict.fromkeys(accounts, self.starting_cash)
