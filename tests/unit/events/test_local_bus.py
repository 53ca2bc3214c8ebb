"""The local bus: pattern routing, breadth-first order, dead letters for failing handlers, refused patterns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.dead_letters import DeadLetterList
from events.envelope import Envelope, bar_envelope, wrap
from events.local_bus import LocalBus
from events.models import BarClosed, Event, TargetChanged
from events.patterns import InvalidPattern
from tests.conftest import first_spot_bar

BAR = first_spot_bar()


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
    bus.publish([bar_envelope(BAR)])
    assert seen == [("strategy", "BarClosed"), ("audit", "BarClosed"), ("audit", "TargetChanged")]


def test_caused_events_carry_the_time_of_their_cause() -> None:
    bus, recorded = LocalBus(DeadLetterList()), []
    bus.subscribe("strategy", {"detail-type": ["BarClosed"]}, lambda envelope: [target_changed()])
    bus.observe(recorded.append)
    bus.publish([bar_envelope(BAR)])
    assert [e.time for e in recorded] == [bar_envelope(BAR).time] * 2


def test_a_failing_handler_is_dead_lettered_and_the_bus_goes_on() -> None:
    dead_letters, delivered = DeadLetterList(), []

    def broken(envelope: Envelope) -> list[Event]:
        raise RuntimeError("boom")

    bus = LocalBus(dead_letters)
    bus.subscribe("broken", {"detail-type": ["BarClosed"]}, broken)
    bus.subscribe("fine", {"detail-type": ["BarClosed"]}, lambda e: delivered.append(e) or [])
    bus.publish([bar_envelope(BAR)])
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


# Patterns a subscriber may use: the first seven select on detail fields alone (publish_event routes them from a
# cache; the fifth reads a field a bar does not have, the sixth and seventh a price as its JSON string), the rest
# read something else (the source's prefix, a price, $or, the time), so the bus matches them on an envelope as
# `publish` does.
PATTERNS = [
    {"detail-type": ["BarClosed"]},
    {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}},
    {"detail": {"symbol": ["ETH/USDT", "BTC/USDT"], "exchange": ["binance"]}},
    {"detail-type": ["TargetChanged"], "detail": {"symbol": [{"prefix": "BTC"}]}},
    {"detail": {"strategy": ["s"]}},
    {"detail": {"close": ["22685.40"]}},
    {"detail": {"close": [{"prefix": "22685.4"}], "symbol": ["BTC/USDT"]}},
    {"source": [{"prefix": "stds"}]},
    {"detail": {"close": [{"numeric": [">", 20_000]}]}},
    {"detail": {"$or": [{"symbol": ["ETH/USDT"]}, {"timeframe": ["5m"]}]}},
    {"time": [{"prefix": "2023"}]},
]


# one price written three ways: equal as Decimals, three different strings on the wire (and so on AWS)
CLOSES = [Decimal("22685.4"), Decimal("22685.40"), Decimal("22685.400"), BAR.close]


@given(
    subscribers=st.lists(
        st.tuples(st.sampled_from(range(len(PATTERNS))), st.sampled_from(["detail", "envelope"]),
                  st.sampled_from(["quiet", "targets", "raises", "publishes"])),
        min_size=1, max_size=6,
    ),
    bars=st.lists(
        st.tuples(st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]), st.sampled_from(CLOSES)),
        min_size=1, max_size=12,
    ),
    observed=st.booleans(),
)  # fmt: skip
def test_publish_event_delivers_exactly_what_publish_delivers(
    subscribers: list[tuple[int, str, str]], bars: list[tuple[str, Decimal]], observed: bool
) -> None:
    """Same handlers, same order, same caused envelopes (with the cause's time), same dead letters."""

    def run(publish_event: bool) -> tuple[list[tuple[str, str, str]], int, list[tuple[str, str]]]:
        dead, log = DeadLetterList(), []
        bus = LocalBus(dead)
        for number, (pattern, takes, behaviour) in enumerate(subscribers):

            def handle(event: Event, name: str = f"s{number}", behaviour: str = behaviour) -> list[Event]:
                log.append((name, type(event).__name__, event.event_id))
                if behaviour == "raises":
                    raise RuntimeError("broken handler")
                if behaviour == "targets" and isinstance(event, BarClosed):
                    return [target_changed().model_copy(update={"symbol": event.symbol})]
                if behaviour == "publishes" and isinstance(event, BarClosed):  # onto the bus itself, mid-delivery
                    bus.publish((wrap(target_changed().model_copy(update={"exchange": "okx"}), event.closed_at),))
                return []

            if takes == "detail":
                bus.subscribe_detail(f"s{number}", PATTERNS[pattern], handle)
            else:
                bus.subscribe(f"s{number}", PATTERNS[pattern], lambda envelope, handle=handle: handle(envelope.detail))
        # caused events travel in envelopes that carry their cause's time
        bus.subscribe(
            "targets", {"detail-type": ["TargetChanged"]}, lambda e: log.append(("t", str(e.time), e.id)) or []
        )
        if observed:
            bus.observe(lambda envelope: log.append(("observer", envelope.detail_type, envelope.id)))
        for symbol, close in bars:
            bar = BAR.model_copy(update={"symbol": symbol, "close": close})
            if publish_event:
                bus.publish_event(bar, lambda bar=bar: bar.closed_at)
            else:
                bus.publish((bar_envelope(bar),))
        return log, bus.delivered, [(d.origin, d.error) for d in dead]

    assert run(publish_event=True) == run(publish_event=False)


def test_publish_event_makes_no_envelope_for_a_bar_only_detail_subscribers_take() -> None:
    bus, seen = LocalBus(DeadLetterList()), []
    bus.subscribe_detail(
        "strategy",
        {"detail-type": ["BarClosed"], "detail": {"symbol": ["BTC/USDT"]}},
        lambda bar: seen.append(bar) or [],
    )
    times = []

    def time_of_bar() -> datetime:
        times.append(1)
        return BAR.closed_at

    for _ in range(3):
        bus.publish_event(BAR, time_of_bar)
    assert seen == [BAR] * 3
    assert times == []  # nothing was caused, nothing failed: no envelope, no time asked


def test_a_price_routes_by_its_json_string_as_on_eventbridge() -> None:
    """22685.4 and 22685.40 are one Decimal but two strings on the wire: a pattern on one takes only that one,
    from the route cache as on an envelope."""
    bus, seen = LocalBus(DeadLetterList()), []
    bus.subscribe_detail("exact", {"detail": {"close": ["22685.40"]}}, lambda bar: seen.append(str(bar.close)) or [])
    for close in ("22685.4", "22685.40", "22685.4", "22685.40"):
        bar = BAR.model_copy(update={"close": Decimal(close)})
        bus.publish_event(bar, lambda bar=bar: bar.closed_at)
    assert seen == ["22685.40", "22685.40"]
