"""Strategies that hear the same bars, decided in one bus delivery: each bar is stored and its stream key made once,
then each strategy decides it (a sweep's parameter sets, run as the strategies of one replay, are such a group)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from consumers.stores.ports import BarStore
from consumers.strategies.consumer import StrategyConsumer
from events.dead_letters import DeadLetters
from events.envelope import wrap
from events.local_bus import dead_letter_delivery
from events.models import BarClosed, Event
from events.streams import StreamKey
from infra.strategy_loader import LoadedStrategy


@dataclass(frozen=True, slots=True)
class ConsumerGroup:
    """What the bus would do delivering a bar to each consumer in turn (each subscribed alone under the same
    pattern), in one call: their events in the same order, a consumer that raises dead-lettered under its own
    name while the others still decide, and the bar stored once rather than offered once per consumer."""

    consumers: tuple[StrategyConsumer, ...]  # in subscription order
    bars: BarStore
    dead_letters: DeadLetters

    @property
    def name(self) -> str:
        """The group's subscription name (each consumer's own name is what its dead letters carry)."""
        return f"{self.consumers[0].name} … {self.consumers[-1].name} ({len(self.consumers)} strategies)"

    def on_bar(self, bar: BarClosed) -> list[Event]:
        self.bars.add(bar)
        stream = StreamKey.of(bar)
        # nothing stores a bar while the group decides: the newest held is read once, for every strategy
        newest_open_ms = getattr(self.bars, "newest_open_ms", None)
        newest_ms = None if newest_open_ms is None else newest_open_ms(stream)
        emitted: list[Event] = []
        for consumer in self.consumers:
            try:
                emitted += consumer.decide_bar(bar, stream, newest_ms)
            except Exception as error:  # as the bus does for a consumer subscribed alone: that delivery only
                dead_letter_delivery(self.dead_letters, consumer.name, wrap(bar, bar.closed_at), error)
        return emitted


def runs_of_one_pattern(specs: Sequence[LoadedStrategy]) -> Iterator[list[LoadedStrategy]]:
    """The specs in order, cut where the pattern changes: a run's strategies hear the same bars, and grouping only
    neighbours keeps every event in the order the bus would have delivered them one subscription at a time."""
    run: list[LoadedStrategy] = []
    for spec in specs:
        if run and spec.pattern != run[0].pattern:
            yield run
            run = []
        run.append(spec)
    if run:
        yield run
