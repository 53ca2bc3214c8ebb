"""The local bus: pattern routing, breadth-first order, dead letters for failing handlers, refused patterns."""

from __future__ import annotations

import pytest

from events.dead_letters import DeadLetterList
from events.envelope import Envelope, wrap
from events.local_bus import LocalBus
from events.models import Event, TargetChanged
from events.patterns import InvalidPattern
from tests.conftest import spot_day_bars

BAR = spot_day_bars(limit=1)[0]


def bar_envelope() -> Envelope:
    return wrap(BAR, BAR.closed_at)


def target_changed() -> TargetChanged:
    return TargetChanged.trusted(
        strategy="s", exchange="binance", symbol="BTC/USDT", bar_open_time_ms=BAR.open_time_ms,
        previous_target=0, target=1,
    )  # fmt: skip


def test_events_go_to_matching_subscriptions_and_caused_events_follow_breadth_first() -> None:
    bus, seen = LocalBus(DeadLetterList()), []

    def strategy(envelope: Envelope) -> list[Event]:
        seen.append(("strategy", envelope.detail_type))
        return [target_changed()]

    def audit(envelope: Envelope) -> list[Event]:
        seen.append(("audit", envelope.detail_type))
        return []

    bus.subscribe("strategy", {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}}, strategy)
    bus.subscribe("other-symbol", {"detail": {"symbol": ["ETH/USDT"]}}, strategy)
    bus.subscribe("audit", {"source": [{"prefix": "stds"}]}, audit)
    bus.publish([bar_envelope()])
    assert seen == [("strategy", "BarClosed"), ("audit", "BarClosed"), ("audit", "TargetChanged")]


def test_caused_events_carry_the_time_of_their_cause() -> None:
    bus, recorded = LocalBus(DeadLetterList()), []
    bus.subscribe("strategy", {"detail-type": ["BarClosed"]}, lambda envelope: [target_changed()])
    bus.observe(recorded.append)
    bus.publish([bar_envelope()])
    assert [e.time for e in recorded] == [bar_envelope().time] * 2


def test_a_failing_handler_is_dead_lettered_and_the_bus_goes_on() -> None:
    dead_letters, delivered = DeadLetterList(), []

    def broken(envelope: Envelope) -> list[Event]:
        raise RuntimeError("boom")

    bus = LocalBus(dead_letters)
    bus.subscribe("broken", {"detail-type": ["BarClosed"]}, broken)
    bus.subscribe("fine", {"detail-type": ["BarClosed"]}, lambda e: delivered.append(e) or [])
    bus.publish([bar_envelope()])
    [letter] = dead_letters
    assert letter.origin == f"subscription broken, event {BAR.event_id}"
    assert letter.error == "RuntimeError: boom"
    assert letter.payload["detail"]["close"] == str(BAR.close)
    assert len(delivered) == 1


def test_an_invalid_pattern_is_refused_at_subscribe_time() -> None:
    bus = LocalBus(DeadLetterList())
    with pytest.raises(InvalidPattern, match=r"detail\.symbol: an empty array"):
        bus.subscribe("bad", {"detail": {"symbol": []}}, lambda e: [])
    with pytest.raises(ValueError, match="already exists"):
        bus.subscribe("x", {"source": ["a"]}, lambda e: [])
        bus.subscribe("x", {"source": ["b"]}, lambda e: [])
