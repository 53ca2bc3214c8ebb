"""The whole book: each sub-account's ledger at the run's last closes, and the equity over bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from consumers.ledger.account import AccountLedger, RoundTrip
from consumers.ledger.equity import Account, EquityCurve, Market, Timeline, equity_curve
from consumers.ledger.fills import LedgerFill

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Portfolio:
    accounts: dict[Account, AccountLedger]  # sorted by (strategy, exchange, symbol)
    last_close: dict[Market, Decimal]
    curve: EquityCurve

    def mark(self, account: Account) -> Decimal:
        """The market's last close (0 for a market without bars, whose position is then worth nothing)."""
        return self.last_close.get((account[1], account[2]), ZERO)

    @property
    def round_trips(self) -> list[RoundTrip]:
        """Every closed round trip, by exit time (then by sub-account)."""
        trips = [trip for ledger in self.accounts.values() for trip in ledger.round_trips]
        return sorted(trips, key=lambda trip: trip.exit_time_ms)

    def strategies(self) -> dict[str, list[AccountLedger]]:
        grouped: dict[str, list[AccountLedger]] = {}
        for (strategy, _, _), ledger in self.accounts.items():
            grouped.setdefault(strategy, []).append(ledger)
        return grouped


def ledgers_of(starting_cash: Mapping[Account, Decimal], fills: Sequence[LedgerFill]) -> dict[Account, AccountLedger]:
    """Each sub-account's ledger after its fills (in the order given); accounts only a fill names start at 0."""
    ledgers = {account: AccountLedger(*account, starting_cash=cash) for account, cash in starting_cash.items()}
    for fill in fills:
        account = (fill.strategy, fill.exchange, fill.symbol)
        ledger = ledgers.get(account)
        if ledger is None:
            ledger = ledgers[account] = AccountLedger(*account, starting_cash=ZERO)
        ledger.apply(fill)
    return dict(sorted(ledgers.items()))


def build_portfolio(
    starting_cash: Mapping[Account, Decimal], timeline: Timeline, fills: Sequence[LedgerFill]
) -> Portfolio:
    """`fills` in the order they applied (bar order); `timeline` the run's closes (`Timeline.of`: a sweep batch's
    items share their run's)."""
    ledgers = ledgers_of(starting_cash, fills)
    cash = {account: ledger.starting_cash for account, ledger in ledgers.items()}
    ordered = {account: cash[account] for account in starting_cash} | cash  # the report's order of adding up
    return Portfolio(ledgers, timeline.last_close, equity_curve(ordered, timeline, fills))
