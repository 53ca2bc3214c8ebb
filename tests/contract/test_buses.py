"""One suite, every bus adapter: the local bus, EventBridge and SNS on moto's server.

A subscriber selecting BarClosed for BTC/USDT (an event pattern, or an SNS filter policy on the
message attributes) receives exactly those events, once each, whatever the service refuses on the
way, or the undelivered ones come back in the error: nothing is dropped silently.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.stores.ports import AccountKey
from events.batching import Limits, RetryPolicy, Undelivered, batches
from events.bus import Bus
from events.dead_letters import DeadLetterList
from events.envelope import Envelope, time_of_ms, wrap
from events.eventbridge_bus import EventBridgeBus
from events.local_bus import LocalBus
from events.models import BarClosed, Event
from events.sns_bus import SnsBus, message_attributes
from tests.conftest import spot_day_bars
from tests.emulators.aws import FlakyClient, client, envelopes_in, queue_behind_rule, queue_behind_topic
from tests.factories import order_requested

BTC = spot_day_bars(limit=30)
ETH = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in BTC]
ORDERS = [order_requested(AccountKey("sma", "binance", "BTC/USDT"), bar.open_time_ms, "0.1") for bar in BTC[:5]]
EVENTS: list[Event] = [event for trio in zip(BTC, ETH, [*ORDERS, *[None] * 25], strict=True) for event in trio if event]
PUBLISHED = [wrap(event, time_of_ms(1_674_259_260_000)) for event in EVENTS]
WANTED = [
    envelope
    for envelope in PUBLISHED
    if isinstance(envelope.detail, BarClosed) and envelope.detail.symbol == "BTC/USDT"
]
PATTERN = {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}}


class SimulatedTime:
    """Backoff sleeps advance this clock instead of the test's wall time."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def policy(self) -> RetryPolicy:
        return RetryPolicy(give_up_after_s=20, sleep=self.sleep, clock=lambda: self.now)


@dataclass
class BusUnderTest:
    make: Callable[[Any], Bus]  # wraps a client (None: the adapter's own) into the bus
    real_client: Any
    received: Callable[[], list[Envelope]]


@pytest.fixture(params=["local", "eventbridge", "sns"])
def bus(request: pytest.FixtureRequest) -> BusUnderTest:
    if request.param == "local":
        local = LocalBus(DeadLetterList())
        got: list[Envelope] = []

        def keep(envelope: Envelope) -> list[Event]:
            got.append(envelope)
            return []

        local.subscribe("btc-bars", PATTERN, keep)
        return BusUnderTest(lambda _: local, None, lambda: list(got))
    endpoint = request.getfixturevalue("moto_endpoint")
    name = f"stds-{uuid.uuid4().hex[:8]}"
    if request.param == "eventbridge":
        events = client("events", endpoint)
        events.create_event_bus(Name=name)
        queue = queue_behind_rule(endpoint, name, "btc-bars", PATTERN)
        return BusUnderTest(
            lambda c: EventBridgeBus(c or events, name, SimulatedTime().policy()),
            events,
            lambda: envelopes_in(endpoint, queue),
        )
    sns = client("sns", endpoint)
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = queue_behind_topic(endpoint, topic, name, {"detail_type": ["BarClosed"], "symbol": ["BTC/USDT"]})
    return BusUnderTest(
        lambda c: SnsBus(c or sns, topic, SimulatedTime().policy()), sns, lambda: envelopes_in(endpoint, queue)
    )


def _key(envelope: Envelope) -> str:
    return envelope.detail.event_id


def test_a_subscriber_gets_exactly_what_its_pattern_selects(bus: BusUnderTest) -> None:
    bus.make(None).publish(PUBLISHED)
    received = bus.received()
    assert sorted(map(_key, received)) == sorted(map(_key, WANTED))
    assert {_key(e): e.detail for e in received} == {_key(e): e.detail for e in WANTED}  # exact Decimals


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), refusal_rate=st.sampled_from([0.1, 0.5, 0.9]), throttles=st.integers(0, 3))
def test_partial_failures_and_throttling_still_deliver_each_event_once(
    bus: BusUnderTest, seed: int, refusal_rate: float, throttles: int
) -> None:
    if bus.real_client is None:
        pytest.skip("the local bus has no service to refuse anything")
    bus.received()  # start from an empty queue
    rng = random.Random(seed)
    flaky = FlakyClient(bus.real_client, lambda call, _: call < 8 and rng.random() < refusal_rate, throttles)
    bus.make(flaky).publish(PUBLISHED)
    assert sorted(map(_key, bus.received())) == sorted(map(_key, WANTED))
    assert max(flaky.batch_sizes) <= 10


def test_refused_for_too_long_raises_with_exactly_the_undelivered_events(bus: BusUnderTest) -> None:
    if bus.real_client is None:
        pytest.skip("the local bus has no service to refuse anything")
    every_third = FlakyClient(bus.real_client, lambda _, n: n % 3 == 0)
    with pytest.raises(Undelivered) as raised:
        bus.make(every_third).publish(PUBLISHED)
    undelivered = {_key(e) for e in raised.value.envelopes}
    delivered = {_key(e) for e in bus.received()}
    assert undelivered and not undelivered & delivered
    assert delivered | {k for k in undelivered if k in map(_key, WANTED)} == set(map(_key, WANTED))


def test_batches_respect_count_and_bytes() -> None:
    limits = Limits(max_entries=10, max_bytes=1000)
    sizes = [300] * 7 + [100] * 25
    runs = batches(sizes, limits)
    assert [n for run in runs for n in run] == list(range(len(sizes)))  # every entry once, in order
    assert all(len(run) <= 10 and sum(sizes[n] for n in run) <= 1000 for run in runs)
    assert [len(run) for run in runs] == [3, 3, 8, 10, 8]  # bytes close the first three, the count the fourth


def test_an_event_over_the_entry_limit_is_refused_with_the_event(moto_endpoint: str) -> None:
    events = client("events", moto_endpoint)
    huge = wrap(BTC[0].model_copy(update={"exchange": "x" * 300_000}))
    with pytest.raises(Undelivered) as raised:
        EventBridgeBus(events, "default", SimulatedTime().policy()).publish([wrap(BTC[1]), huge])
    assert raised.value.envelopes == [huge]


def test_sns_attributes_and_fifo_ids() -> None:
    order = wrap(ORDERS[0])
    attributes = message_attributes(order)
    assert {name: value["StringValue"] for name, value in attributes.items()} == {
        "detail_type": "OrderRequested", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma",
    }  # fmt: skip
    fifo = SnsBus(None, "arn:aws:sns:us-east-1:123456789012:stds.fifo")
    first, again = fifo._entry(0, wrap(BTC[0])), fifo._entry(3, wrap(BTC[0], time_of_ms(0)))
    assert first["MessageDeduplicationId"] == again["MessageDeduplicationId"]  # same fact, same id
    assert first["MessageGroupId"] == "binance|BTC/USDT|1m"
