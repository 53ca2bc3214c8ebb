"""The embedded bus: routes events in-process by EventBridge event patterns, breadth-first, in order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from events.dead_letters import DeadLetters
from events.envelope import Envelope, wrap
from events.patterns import Matcher, compile_pattern

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Sequence[Any]]
Observer = Callable[[Envelope], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    pattern: Mapping[str, Any]
    matches: Matcher
    handler: Handler


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
        self._observers: list[Observer] = []
        self._queue: deque[Envelope] = deque()
        self._draining = False
        self.delivered = 0

    def subscribe(self, name: str, pattern: Mapping[str, Any], handler: Handler) -> None:
        """Raise `InvalidPattern` now, rather than silently never matching later."""
        if any(existing.name == name for existing in self._subscriptions):
            raise ValueError(f"a subscription named {name!r} already exists")
        self._subscriptions.append(Subscription(name, pattern, compile_pattern(pattern), handler))
        self._by_detail_type.clear()

    def observe(self, observer: Observer) -> None:
        """Call `observer` with every envelope the bus routes (recording, metrics)."""
        self._observers.append(observer)

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        self._queue.extend(envelopes)
        if self._draining:
            return  # a handler published: the outer drain loop delivers it in order
        self._draining = True
        try:
            self._drain()
        finally:
            self._draining = False

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            envelope = queue.popleft()
            for observer in self._observers:
                observer(envelope)
            for subscription in self._candidates(envelope.detail_type):
                if not subscription.matches(envelope):
                    continue
                self.delivered += 1
                try:
                    caused = subscription.handler(envelope)
                except Exception as error:  # one bad delivery must not stop the bus
                    self._dead_letter(subscription, envelope, error)
                    continue
                for event in caused:
                    queue.append(wrap(event, envelope.time))

    def _candidates(self, detail_type: str) -> list[Subscription]:
        """Subscriptions that can match this detail-type, in subscription order (cached)."""
        candidates = self._by_detail_type.get(detail_type)
        if candidates is None:
            candidates = [s for s in self._subscriptions if _may_match_type(s.pattern, detail_type)]
            self._by_detail_type[detail_type] = candidates
        return candidates

    def _dead_letter(self, subscription: Subscription, envelope: Envelope, error: Exception) -> None:
        origin = f"subscription {subscription.name}, event {envelope.id}"
        log.error("handler failed: %s: %s: %s", origin, type(error).__name__, error)
        self._dead_letters.put(origin, f"{type(error).__name__}: {error}", envelope.to_json_dict())


def _may_match_type(pattern: Mapping[str, Any], detail_type: str) -> bool:
    """Cheap pre-filter: a pattern that lists exact detail-types only ever matches those."""
    wanted = pattern.get("detail-type")
    if isinstance(wanted, list) and all(isinstance(value, str) for value in wanted):
        return detail_type in wanted
    return True
