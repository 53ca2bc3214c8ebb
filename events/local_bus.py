"""The embedded bus: routes events in-process by EventBridge event patterns, breadth-first, in order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from events.dead_letters import DeadLetters
from events.envelope import Envelope, wrap
from events.models import Event
from events.patterns import Matcher, compile_pattern, json_form

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Sequence[Any]]
DetailHandler = Callable[[Any], Sequence[Any]]
Observer = Callable[[Envelope], None]
# how many distinct routes (detail-type and the detail values patterns read) one detail-type may cache
MAX_ROUTES = 4_096
_ENVELOPE_KEYS = frozenset({"source", "detail-type", "detail"})


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    pattern: Mapping[str, Any]
    matches: Matcher
    handler: Handler
    on_detail: DetailHandler | None  # the handler of a subscriber that reads only the detail
    routing_keys: frozenset[str] | None  # the detail fields its pattern reads, when it reads nothing else


@dataclass(slots=True)
class _Routes:
    """Which subscriptions take an event of one detail-type, cached by the values their patterns read."""

    keys: tuple[str, ...]
    candidates: list[Subscription]
    by_values: dict[Hashable, list[Subscription]]
    values_of: Callable[[dict[str, Any]], Hashable]  # those values, read from an event's fields in C
    strings_only: bool  # the model declares every one of them a str: they key the cache as they are


class LocalBus:
    """Delivers each published envelope to every matching subscription, then what they emitted.

    A handler returns the events it caused; they are enveloped with the cause's time (so replays
    are byte-identical) and queued behind everything already published. A handler that raises
    dead-letters that one delivery and the bus keeps going, as a Lambda target with a DLQ would.
    """

    def __init__(self, dead_letters: DeadLetters) -> None:
        self._dead_letters = dead_letters
        self._subscriptions: list[Subscription] = []
        self._by_detail_type: dict[str, list[Subscription]] = {}
        self._routes: dict[str, _Routes | None] = {}
        self._observers: list[Observer] = []
        self._queue: deque[_Delivery] = deque()
        self._draining = False
        self.delivered = 0

    def subscribe(self, name: str, pattern: Mapping[str, Any], handler: Handler) -> None:
        """Raise `InvalidPattern` now, rather than silently never matching later."""
        self._add(name, pattern, handler, None)

    def subscribe_detail(self, name: str, pattern: Mapping[str, Any], on_detail: DetailHandler) -> None:
        """As `subscribe`, for a handler that reads only the event, not its envelope: events routed by
        `publish_event` reach it without an envelope being made (the replay's per-bar path)."""
        self._add(name, pattern, lambda envelope: on_detail(envelope.detail), on_detail)

    def _add(self, name: str, pattern: Mapping[str, Any], handler: Handler, on_detail: DetailHandler | None) -> None:
        if any(existing.name == name for existing in self._subscriptions):
            raise ValueError(f"a subscription named {name!r} already exists")
        matches = compile_pattern(pattern)
        self._subscriptions.append(Subscription(name, pattern, matches, handler, on_detail, _routing_keys(pattern)))
        self._by_detail_type.clear()
        self._routes.clear()

    def observe(self, observer: Observer) -> None:
        """Call `observer` with every envelope the bus routes (recording, metrics)."""
        self._observers.append(observer)

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        self._queue.extend((envelope.detail, None, envelope) for envelope in envelopes)
        self._drain()

    def publish_event(self, event: Event, time: Callable[[], datetime]) -> None:
        """`publish((wrap(event, time()),))`, through the same queue and delivery loop, except that its
        subscribers may be found in a route cache instead of by matching an envelope: then no envelope is
        made unless something needs one (an observer, an envelope handler, what the handlers caused, a
        dead letter), and `time` is asked only then."""
        self._queue.append((event, time, None))
        self._drain()

    def _drain(self) -> None:
        if self._draining:
            return  # a handler published: this loop, further out, delivers it in order
        self._draining = True
        try:
            queue = self._queue
            while queue:
                self._deliver(*queue.popleft())
        finally:
            self._draining = False

    def _deliver(self, event: Event, time: Callable[[], datetime] | None, envelope: Envelope | None) -> None:
        """The one delivery loop: each subscription that takes the event, in subscription order, then what
        each caused queued behind everything already published. An event published in its envelope (which
        may carry a source of its own) is matched on it; one published bare, from the route cache if it can."""
        subscriptions = None if envelope is not None or self._observers else self._routes_for(event)
        if subscriptions is None:  # matched the general way, on its envelope
            envelope = envelope or _envelope(event, time)
            for observer in self._observers:
                observer(envelope)
            subscriptions = [s for s in self._candidates(envelope.detail_type) if s.matches(envelope)]
        queue = self._queue
        for subscription in subscriptions:
            self.delivered += 1
            try:
                if subscription.on_detail is not None:
                    caused = subscription.on_detail(event)
                else:
                    caused = subscription.handler(envelope or _envelope(event, time))
            except Exception as error:  # one bad delivery must not stop the bus
                envelope = envelope or _envelope(event, time)
                self._dead_letter(subscription, envelope, error)
                continue
            if caused:
                envelope = envelope or _envelope(event, time)
                at = envelope.time
                queue.extend((effect, None, wrap(effect, at)) for effect in caused)

    def _routes_for(self, event: Event) -> list[Subscription] | None:
        """The subscriptions that take an event published without an envelope, from the route cache; None
        when its subscribers must be matched on an envelope (a pattern reads more than its detail fields)."""
        detail_type = type(event).__name__
        routes: _Routes | None = self._routes.get(detail_type, _UNSEEN)
        if routes is _UNSEEN:
            routes = self._routes[detail_type] = _routes(self._candidates(detail_type), type(event))
        if routes is None:
            return None
        fields = event.__dict__
        try:
            values = routes.values_of(fields)
        except KeyError:  # a field this event lacks: read them one by one
            values = tuple(fields.get(key, _ABSENT) for key in routes.keys)
        try:
            key = values if routes.strings_only else _as_sent(values)
            found = routes.by_values.get(key)
        except TypeError:  # a value that cannot key a cache (a list): match this event the usual way
            return None
        if found is None:
            if len(routes.by_values) >= MAX_ROUTES:  # patterns select on values that keep changing
                self._routes[detail_type] = None
                return None
            envelope = wrap(event, _NO_TIME)  # patterns read no time here (_routing_keys)
            found = routes.by_values[key] = [s for s in routes.candidates if s.matches(envelope)]
        return found

    def _candidates(self, detail_type: str) -> list[Subscription]:
        """Subscriptions that can match this detail-type, in subscription order (cached)."""
        candidates = self._by_detail_type.get(detail_type)
        if candidates is None:
            candidates = [s for s in self._subscriptions if _may_match_type(s.pattern, detail_type)]
            self._by_detail_type[detail_type] = candidates
        return candidates

    def _dead_letter(self, subscription: Subscription, envelope: Envelope, error: Exception) -> None:
        dead_letter_delivery(self._dead_letters, subscription.name, envelope, error)


def dead_letter_delivery(dead_letters: DeadLetters, subscriber: str, envelope: Envelope, error: Exception) -> None:
    """One delivery that failed, named by its subscriber and event: also what a handler that serves several
    subscribers at once (`infra/local/consumer_group.py`) records for the one of them that failed."""
    origin = f"subscription {subscriber}, event {envelope.id}"
    log.error("handler failed: %s: %s: %s", origin, type(error).__name__, error)
    dead_letters.put(origin, f"{type(error).__name__}: {error}", envelope.to_json_dict())


# an event waiting in the queue: in its envelope, or bare with the time to envelope it at when something needs one
_Delivery = tuple[Event, Callable[[], datetime] | None, Envelope | None]


def _envelope(event: Event, time: Callable[[], datetime] | None) -> Envelope:
    assert time is not None  # a bare event always comes with its time (publish_event)
    return wrap(event, time())


def _as_sent(values: Any) -> Hashable:
    """A cache key for detail values as the event's JSON carries them. EventBridge and SNS compare that
    text: Decimal("22685.4") and Decimal("22685.40") are equal in Python but two values on AWS, and
    True == 1 here but not there. So strings (and Decimals, sent as strings) key by their text, other
    values by their type and value."""
    if type(values) is str:  # the common case: one field read, a symbol
        return values
    if type(values) is tuple:
        return tuple(_one_as_sent(value) for value in values)
    return _one_as_sent(values)


def _one_as_sent(value: Any) -> Hashable:
    sent = json_form(value)
    return sent if type(sent) is str else (type(sent), sent)


def _routing_keys(pattern: Mapping[str, Any]) -> frozenset[str] | None:
    """The detail fields a pattern reads, if it reads nothing but those, the source and the
    detail-type (both fixed by the event's class): its verdict then follows from their values."""
    if not set(pattern) <= _ENVELOPE_KEYS:
        return None
    detail = pattern.get("detail", {})
    if not isinstance(detail, Mapping) or any(
        key.startswith("$") or not isinstance(leaf, list) for key, leaf in detail.items()
    ):
        return None  # $or, or a nested object: read the usual way
    return frozenset(detail)


def _routes(candidates: list[Subscription], model: type[Event]) -> _Routes | None:
    if any(s.on_detail is None or s.routing_keys is None for s in candidates):
        return None
    keys = tuple(sorted(set().union(*(s.routing_keys or () for s in candidates))))
    fields = model.model_fields
    strings_only = all(key in fields and fields[key].annotation is str for key in keys)
    return _Routes(keys, candidates, {}, itemgetter(*keys) if keys else _no_values, strings_only)


def _no_values(fields: dict[str, Any]) -> Hashable:
    return ()


_ABSENT: Any = object()
_UNSEEN: Any = object()  # a detail-type not routed yet (None is one that cannot be cached)
_NO_TIME = datetime(1970, 1, 1)


def _may_match_type(pattern: Mapping[str, Any], detail_type: str) -> bool:
    """Cheap pre-filter: a pattern that lists exact detail-types only ever matches those."""
    wanted = pattern.get("detail-type")
    if isinstance(wanted, list) and all(isinstance(value, str) for value in wanted):
        return detail_type in wanted
    return True
