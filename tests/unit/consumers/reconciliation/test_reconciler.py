"""The reconciler's decisions, with a hand-written exchange account (pure logic; the adapters are tested
against the local Binance in tests/integration/test_reconciliation.py)."""

from __future__ import annotations

from decimal import Decimal

from consumers.execution.broker import Execution, Refusal
from consumers.reconciliation.ports import OpenOrder, StillOpen
from consumers.reconciliation.reconciler import Reconciler
from consumers.reconciliation.settings import ReconcileSettings
from consumers.stores.memory import MemoryBook, MemoryKillSwitch, MemoryReconciliationLog
from consumers.stores.ports import AccountKey, Decision, KillSwitchState
from events.models import OrderRequested
from tests.factories import order_requested

KEY = AccountKey("sma", "binance", "BTC/USDT")
HOUR_MS = 3_600_000


class Account:
    def __init__(self, balances: dict[str, Decimal], answer: Execution | Refusal | StillOpen | None) -> None:
        self._balances, self.answer, self.asked = balances, answer, 0

    def balances(self) -> dict[str, Decimal]:
        return self._balances

    def open_orders(self, symbols: list[str]) -> list[OpenOrder]:
        return []

    def find(self, order: OrderRequested) -> Execution | Refusal | StillOpen | None:
        self.asked += 1
        return self.answer

    def assets_of(self, symbol: str) -> tuple[str, str]:
        return ("BTC", "USDT")


def run(
    answer: Execution | Refusal | StillOpen | None, balances: dict[str, str], engaged: KillSwitchState | None = None
) -> tuple[Reconciler, MemoryBook]:
    book = MemoryBook(Decimal(1000))
    order = order_requested(KEY, 0, "0.01", price="20000")
    book.decide(Decision(KEY, 0, order.target, order))
    exchange = Account({asset: Decimal(v) for asset, v in balances.items()}, answer)
    kill_switch = MemoryKillSwitch()
    if engaged is not None:
        kill_switch.engage(engaged)
    reconciler = Reconciler(book, kill_switch, exchange, MemoryReconciliationLog(), ReconcileSettings(), [KEY])
    reconciler.run(HOUR_MS)
    return reconciler, book


def test_an_answer_that_cannot_be_booked_is_not_booked_and_halts() -> None:
    impossible = Execution(qty=Decimal("0.01"), price=Decimal(20000), fee=Decimal(0), fee_base=Decimal("0.02"))
    reconciler, book = run(impossible, {"BTC": "0", "USDT": "1000"})
    engaged = reconciler.kill_switch.engaged()
    assert (
        engaged is not None
        and "cannot be booked (fee 0.02 in the base asset exceeds the filled quantity" in engaged.reason
    )
    assert book.account(KEY).pending == Decimal("0.01")


def test_a_refusal_on_the_exchange_rejects_the_pending_order() -> None:
    reconciler, book = run(Refusal("nothing filled: the exchange reports the order expired"), {"USDT": "1000"})
    assert reconciler.kill_switch.engaged() is None
    account = book.account(KEY)
    assert (account.pending, account.rejects) == (0, 1)


IMPOSSIBLE = Execution(qty=Decimal("0.01"), price=Decimal(20000), fee=Decimal(0), fee_base=Decimal("0.02"))


def test_a_flatten_under_way_is_not_overwritten_by_a_reconciliation_halt_and_still_ends_in_halt() -> None:
    """The operator asked for every position closed: a reconciliation problem meanwhile leaves the flatten engaged
    (its closing orders still go out) and the flatten settles into `halt` as ever; the problem is in the log."""
    flatten = KillSwitchState.new("flatten", "operator: unwind")
    reconciler, _ = run(IMPOSSIBLE, {"BTC": "0", "USDT": "1000"}, engaged=flatten)
    assert reconciler.kill_switch.engaged() == flatten
    assert "cannot be booked" in (reconciler.log.last() or "")
    assert reconciler.kill_switch.settle_flatten(flatten, "flattened (1 closed): operator: unwind")
    settled = reconciler.kill_switch.engaged()
    assert settled is not None and (settled.mode, settled.engagement) == ("halt", flatten.engagement)


def test_a_reconciliation_problem_halts_over_reduce_only_and_over_an_earlier_halt() -> None:
    for earlier in (KillSwitchState.new("reduce-only", "operator"), KillSwitchState.new("halt", "operator")):
        reconciler, _ = run(IMPOSSIBLE, {"BTC": "0", "USDT": "1000"}, engaged=earlier)
        engaged = reconciler.kill_switch.engaged()
        assert engaged is not None and engaged.mode == "halt" and engaged.reason.startswith("reconciliation: ")
