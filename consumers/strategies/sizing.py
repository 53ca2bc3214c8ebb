"""Sizing in the quote or in a share of equity: `stake = "1000 USDT"` or `stake = "10%"` instead of a fixed base
`qty`. The strategy then answers in stakes (1 long one stake, 0 flat, −1 short), and its target in base units is
fixed when that answer changes: stake ÷ the bar's close, rounded down to the quantity grid. While the answer stays
the same the target stays too, so a moving price never orders a sliver every bar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from consumers.stores.ports import Account
from consumers.strategies.targets import QUANTUM, InvalidTarget

ZERO = Decimal(0)
_STAKE = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?:(?P<percent>%)|(?P<asset>[A-Z][A-Z0-9]{1,11}))\s*$")


class InvalidStake(ValueError):
    """A stake that is neither an amount of an asset nor a share of equity."""


@dataclass(frozen=True, slots=True)
class Stake:
    amount: Decimal  # in `asset`, or a percentage of equity when `asset` is None
    asset: str | None

    @classmethod
    def parse(cls, text: str) -> Stake:
        """'1000 USDT' (an amount of the quote asset) or '10%' (of the sub-account's equity, at most 100)."""
        match = _STAKE.match(text)
        amount = Decimal(match["amount"]) if match else ZERO
        if match is None or not amount or (match["percent"] and amount > 100):
            raise InvalidStake(
                f"stake = {text!r}: write an amount of the quote asset ('1000 USDT') or a share of equity up to "
                "100 ('10%')"
            )
        return cls(amount, None if match["percent"] else match["asset"])

    def __str__(self) -> str:
        return f"{self.amount}%" if self.asset is None else f"{self.amount} {self.asset}"

    def units_of(self, target: Decimal) -> Decimal:
        """The strategy's last answer in stakes, as it is told it back (its sign)."""
        return Decimal((target > 0) - (target < 0))

    def target(self, units: Decimal, previous_target: Decimal, account: Account, close: Decimal) -> Decimal:
        """The base position for `units` stakes at `close`: unchanged while the answer is."""
        if units == self.units_of(previous_target):
            return previous_target
        if not units:
            return ZERO
        quote_asset = account.key.symbol.partition("/")[2].partition(":")[0]
        if self.asset is not None and self.asset != quote_asset:
            raise InvalidTarget(f"stake {self} is not in {account.key.symbol}'s quote asset {quote_asset}")
        if self.asset is None:
            equity = account.cash + account.position * close
            quote = max(equity, ZERO) * self.amount / 100
        else:
            quote = self.amount
        return (units * quote / close).quantize(QUANTUM, rounding=ROUND_DOWN)
