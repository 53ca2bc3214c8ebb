"""Reconcile the book with the exchange: settle stale pending orders from the exchange's answer, compare
every asset, and engage the kill switch, saying exactly what differs, when a difference is unexplained.

The same code runs in `stds run` (at start, every few minutes, at stop), in `stds reconcile`, and in the
scheduled AWS function; only the stores and the exchange adapter differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from consumers.execution.broker import Execution, Refusal, fill_of, fill_problem
from consumers.reconciliation.comparison import AssetComparison, book_holdings, compare, plain
from consumers.reconciliation.ports import ExchangeAccount, ExchangeUnreachable, OpenOrder
from consumers.reconciliation.settings import ReconcileSettings
from consumers.stores.ports import (
    Account,
    AccountKey,
    Book,
    KillSwitch,
    KillSwitchState,
    ReconciliationLog,
    Settlement,
    Stores,
)
from events.models import OrderRejected, OrderRequested


@dataclass
class Reconciliation:
    """One run's result; `problems` non-empty means the kill switch was engaged with them as the reason."""

    at_ms: int
    assets: list[AssetComparison] = field(default_factory=list)
    settled: list[Settlement] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)  # STDS orders the exchange holds open
    foreign_open: list[OpenOrder] = field(default_factory=list)  # open orders STDS did not place
    problems: list[str] = field(default_factory=list)
    unreachable: str | None = None

    @property
    def agrees(self) -> bool:
        return not self.problems and self.unreachable is None

    def document(self) -> dict[str, Any]:
        return {
            "at": datetime.fromtimestamp(self.at_ms / 1000, UTC).isoformat(timespec="seconds"),
            "assets": [
                {
                    "asset": row.asset,
                    "exchange": plain(row.exchange),
                    "book": plain(row.book),
                    "baseline": plain(row.baseline),
                    "difference": plain(row.difference),
                    "status": row.status,
                }
                for row in self.assets
            ],
            "settled": [_settled_line(settlement) for settlement in self.settled],
            "still_open": self.still_open,
            "foreign_open": [f"{o.symbol} {o.side} {o.remaining} ({o.client_order_id})" for o in self.foreign_open],
            "problems": self.problems,
            "unreachable": self.unreachable,
        }


def describe(document: dict[str, Any]) -> list[str]:
    """The printable comparison of a saved reconciliation."""
    if document.get("unreachable"):
        verdict = f"UNREACHABLE ({document['unreachable']})"
    elif document["problems"]:
        verdict = "HALTED: " + "; ".join(document["problems"])
    else:
        verdict = "agrees"
    lines = [f"reconciliation at {document['at']}: {verdict}"]
    lines.append(f"  {'asset':<8} {'exchange':>20} {'book':>20} {'baseline':>16} {'difference':>16}  status")
    for row in document["assets"]:
        lines.append(
            f"  {row['asset']:<8} {row['exchange']:>20} {row['book']:>20} {row['baseline']:>16} "
            f"{row['difference']:>16}  {row['status']}"
        )
    lines += [f"  settled from the exchange: {line}" for line in document["settled"]]
    lines += [f"  open on the exchange: {line}" for line in document["still_open"]]
    lines += [f"  open, not placed by STDS: {line}" for line in document["foreign_open"]]
    return lines


@dataclass
class Reconciler:
    book: Book  # its orders are read only when something is pending
    kill_switch: KillSwitch
    exchange: ExchangeAccount
    log: ReconciliationLog
    settings: ReconcileSettings
    sub_accounts: Sequence[AccountKey] = ()  # configured ones, counted with their starting cash before any trade

    @classmethod
    def of(
        cls, stores: Stores, exchange: ExchangeAccount, settings: ReconcileSettings, sub_accounts: Sequence[AccountKey]
    ) -> Reconciler:
        return cls(stores.book, stores.kill_switch, exchange, stores.reconciliations, settings, sub_accounts)

    def run(self, now_ms: int) -> Reconciliation:
        result = Reconciliation(now_ms)
        try:
            self._reconcile(result)
        except ExchangeUnreachable as error:
            result.unreachable = str(error)  # nothing concluded: the next run tries again
        if result.problems:
            self._halt("reconciliation: " + "; ".join(result.problems))
        self.log.save(orjson.dumps(result.document()).decode())
        return result

    def _halt(self, reason: str) -> None:
        """Engage `halt`, unless a flatten is under way: the operator asked for the positions closed, and a flatten
        already ends in `halt` once its closing orders settle; overwriting it would leave them open (the reason
        stays in the reconciliation log that `stds holdings` shows)."""
        engaged = self.kill_switch.engaged()
        if engaged is not None and engaged.mode == "flatten":
            return
        self.kill_switch.engage(KillSwitchState.new("halt", reason))

    def _reconcile(self, result: Reconciliation) -> None:
        accounts = self._accounts()
        in_flight: set[str] = set()
        if any(account.pending for account in accounts.values()):
            for record in self.book.orders():
                if record.settlement is None:
                    self._settle_from_exchange(record.request, result, in_flight)
            accounts = self._accounts()  # settling moved them
        symbols = sorted({key.symbol for key in accounts})
        result.foreign_open = [o for o in self.exchange.open_orders(symbols) if not self._placed_by_stds(o)]
        held = book_holdings(accounts.values(), self.exchange.assets_of)
        result.assets = compare(
            held, self.settings.baseline, self.exchange.balances(), self.settings.tolerance, frozenset(in_flight)
        )
        result.problems += [row.describe() for row in result.assets if row.status == "differs"]

    def _placed_by_stds(self, order: OpenOrder) -> bool:
        return self.book.order(order.client_order_id) is not None

    def _accounts(self) -> dict[AccountKey, Account]:
        accounts = {account.key: account for account in self.book.accounts()}
        for key in self.sub_accounts:
            if key not in accounts:
                accounts[key] = self.book.account(key)
        return accounts

    def _settle_from_exchange(self, order: OrderRequested, result: Reconciliation, in_flight: set[str]) -> None:
        age_s = (result.at_ms - order.bar_open_time_ms) / 1000
        if age_s < self.settings.pending_deadline_s:
            in_flight.update(self.exchange.assets_of(order.symbol))  # execution may still be on it
            return
        answer = self.exchange.find(order)
        settlement: Settlement
        if isinstance(answer, Execution):
            problem = fill_problem(order, answer)
            if problem is not None:  # booked, it would corrupt the account: a person must look
                result.problems.append(f"order {order.order_id}: the exchange's answer cannot be booked ({problem})")
                return
            settlement = fill_of(order, answer)
        elif isinstance(answer, Refusal):
            settlement = OrderRejected(**order.identity(), reason=f"reconciliation: {answer.reason}")
        elif answer is None:
            settlement = OrderRejected(
                **order.identity(), reason=f"reconciliation: not on the exchange {age_s:.0f} s after its bar"
            )
        else:
            result.still_open.append(order.order_id)
            result.problems.append(
                f"order {order.order_id} ({order.side} {order.qty} {order.symbol}) still open on the exchange "
                f"{age_s:.0f} s after its bar, {answer.filled} filled"
            )
            in_flight.update(self.exchange.assets_of(order.symbol))
            return
        if self.book.settle(settlement):
            result.settled.append(settlement)


def _settled_line(settlement: Settlement) -> str:
    if isinstance(settlement, OrderRejected):
        return f"{settlement.order_id} rejected: {settlement.reason}"
    return f"{settlement.order_id} filled {settlement.side} {settlement.qty} {settlement.symbol} @ {settlement.price}"
