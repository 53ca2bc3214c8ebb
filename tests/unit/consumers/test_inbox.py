"""The inbox: an event handled once whatever the deliveries, its effects published before it is marked handled,
so a crash between the two redelivers it and still leaves one effect (invariant 2)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.execution.app import ExecutionApp
from consumers.execution.risk import RiskPolicy
from consumers.stores.memory import MemoryProcessedIds
from consumers.stores.ports import AccountKey, Decision
from events.dead_letters import DeadLetterList
from events.envelope import Envelope, wrap
from events.models import OrderFilled, OrderRequested
from infra.config import PaperConfig
from infra.local.runtime import LocalRuntime
from infra.local.stores import memory_stores
from tests.factories import order_requested
from tests.unit.consumers.pipeline import Pipeline
from tests.unit.consumers.test_delivery_invariants import FlipFlop

KEY = AccountKey("test_strategy", "binance", "BTC/USDT")
AT = datetime(2023, 1, 21, 0, 1, tzinfo=UTC)


class Crash(Exception):
    """The process dies here (a Lambda timeout, a kill): nothing after this line runs."""


class RecordingBus:
    """Keeps what was published; `crash_next` makes the next publish die before anything is sent."""

    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.crash_next = False

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self.crash_next:
            self.crash_next = False
            raise Crash("before publishing")
        self.published.extend(envelopes)


class CrashingProcessedIds(MemoryProcessedIds):
    """`crash_next` makes the next mark die before it is written."""

    crash_next = False

    def mark(self, consumer: str, event_id: str) -> None:
        if self.crash_next:
            self.crash_next = False
            raise Crash("before marking")
        super().mark(consumer, event_id)


def _setup(orders: int) -> tuple[Pipeline, ExecutionApp, RecordingBus, CrashingProcessedIds, list[OrderRequested]]:
    pipeline = Pipeline(FlipFlop())
    bus, processed = RecordingBus(), CrashingProcessedIds()
    requested = []
    for number in range(orders):  # alternately buy 1 and sell it back, one order per minute
        order = order_requested(
            KEY, number * 60_000, "1" if number % 2 == 0 else "-1", "100", "1" if number % 2 == 0 else "0"
        )
        assert pipeline.book.decide(Decision(KEY, order.bar_open_time_ms, order.target, order))
        requested.append(order)
    return pipeline, ExecutionApp(pipeline.execution, processed, bus), bus, processed, requested


def test_a_crash_between_publishing_and_marking_redelivers_and_leaves_one_fill() -> None:
    pipeline, app, bus, processed, [order] = _setup(1)
    processed.crash_next = True
    with contextlib.suppress(Crash):
        app.on_order(order, AT)
    [published] = bus.published  # published before the crash: nothing lost
    assert isinstance(published.detail, OrderFilled)
    assert not processed.seen("execution", order.event_id)  # so the delivery is retried

    assert app.on_order(order, AT) == [published.detail]  # the retry repeats the recorded fill
    assert [envelope.id for envelope in bus.published] == [published.id] * 2  # same id: deduped downstream
    assert processed.seen("execution", order.event_id)
    assert app.on_order(order, AT) == []  # now handled: a third delivery does nothing
    account = pipeline.book.account(KEY)
    assert (account.position, account.fills, account.cash) == (Decimal(1), 1, Decimal("99899.9"))


@settings(max_examples=60)
@given(
    deliveries=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["none", "publish", "mark"])), max_size=16),
)
def test_any_deliveries_with_crashes_leave_the_effects_of_one_clean_delivery_each(
    deliveries: list[tuple[int, str]],
) -> None:
    """Orders delivered any number of times in any order, some deliveries dying before publishing or before
    marking, then each order delivered until it is handled: the holdings and the settlements of one clean run."""
    clean_pipeline, clean_app, clean_bus, _, orders = _setup(4)
    for order in orders:
        clean_app.on_order(order, AT)

    pipeline, app, bus, processed, _ = _setup(4)
    for number, crash in deliveries:
        bus.crash_next, processed.crash_next = crash == "publish", crash == "mark"
        with contextlib.suppress(Crash):
            app.on_order(orders[number], AT)
        bus.crash_next = processed.crash_next = False
    for order in orders:  # the retries EventBridge and Lambda make until a delivery succeeds
        app.on_order(order, AT)

    assert pipeline.book.accounts() == clean_pipeline.book.accounts()
    assert {e.id: e.detail for e in bus.published} == {e.id: e.detail for e in clean_bus.published}
    assert all(processed.seen("execution", order.event_id) for order in orders)


def test_the_local_runtime_publishes_a_settlement_before_marking_its_order() -> None:
    """`stds run` and `stds replay` go through the same inbox: a crash in marking still delivers the fill."""
    stores = replace(memory_stores(Decimal(100_000), 50), processed=CrashingProcessedIds())
    dead_letters = DeadLetterList()
    runtime = LocalRuntime([], stores, dead_letters, risk=RiskPolicy(), paper=PaperConfig())
    settlements: list[Envelope] = []
    runtime.bus.subscribe("settlements", {"detail-type": ["OrderFilled"]}, lambda e: settlements.append(e) or [])
    order = order_requested(KEY, 0, "1", "100")
    assert stores.book.decide(Decision(KEY, 0, order.target, order))

    stores.processed.crash_next = True  # type: ignore[attr-defined]
    runtime.bus.publish([wrap(order, AT)])
    assert [letter.origin for letter in dead_letters] == [f"subscription execution, event {order.event_id}"]
    assert [e.id for e in settlements] == [f"order-filled:{order.order_id}"]  # delivered though the mark failed

    runtime.bus.publish([wrap(order, AT)])  # the redelivery
    runtime.bus.publish([wrap(order, AT)])  # and one after it was marked
    assert [e.id for e in settlements] == [f"order-filled:{order.order_id}"] * 2
    assert stores.book.account(KEY).fills == 1
