"""A strategy as a function runs it: one minute batch of bars in, the bars it wants decided, the orders published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consumers.strategies.consumer import StrategyConsumer
from events.bus import Bus
from events.envelope import bar_envelope, wrap
from events.models import BarsClosed, OrderRequested
from events.patterns import Matcher


@dataclass(frozen=True)
class Decided:
    bars: int
    orders: int


@dataclass(frozen=True)
class StrategyApp:
    consumer: StrategyConsumer
    bus: Bus
    pattern: Matcher  # the strategy's own event pattern: which rows of a batch are its bars

    def on_batch(self, batch: BarsClosed, at: datetime) -> Decided:
        """Decide every bar of the batch the strategy subscribes to, in one go; publish what the decisions
        caused (stamped `at`, the batch event's time)."""
        bars = [bar for bar in batch.bar_events() if self.pattern(bar_envelope(bar))]
        caused = self.consumer.on_bars(bars) if bars else []
        if caused:
            self.bus.publish([wrap(event, at) for event in caused])
        return Decided(bars=len(bars), orders=sum(isinstance(event, OrderRequested) for event in caused))
