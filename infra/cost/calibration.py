"""The cost model against a measured run: what the handlers really sent AWS (counted by infra/cost/calls.py)
next to what `infra.cost.model.usage` predicts for the same bars and trades, per bar-minute."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from infra.cost.calls import CallCounts
from infra.cost.model import Usage, usage


@dataclass(frozen=True)
class MeasuredUsage:
    bars: int
    trades: int
    measured: Usage
    predicted: Usage

    def disagreements(self, tolerance: Decimal) -> list[str]:
        """Each quantity where the model is off by more than `tolerance` (a fraction) of the measurement."""
        wrong = []
        for field in fields(Usage):
            measured, predicted = getattr(self.measured, field.name), getattr(self.predicted, field.name)
            if abs(predicted - measured) > tolerance * max(measured, Decimal(1)):
                wrong.append(f"{field.name}: model {predicted}, measured {measured}")
        return wrong

    def table(self) -> str:
        rows = [f"per bar-minute ({self.bars} bars, {self.trades} trades)   measured      model"]
        for field in fields(Usage):
            measured, predicted = getattr(self.measured, field.name), getattr(self.predicted, field.name)
            rows.append(f"  {field.name:<28} {measured / self.bars:>10.3f} {predicted / self.bars:>10.3f}")
        return "\n".join(rows)


def measured_usage(
    *,
    bars: int,
    trades: int,
    invocations: int,
    log_bytes: int,
    streamer: CallCounts,
    strategy: CallCounts,
    execution: CallCounts,
    strategies: int = 1,
) -> MeasuredUsage:
    """One symbol's `bars` through `strategies` strategy functions and execution, as the e2e test runs them."""
    published = streamer.published_chunks + strategy.published_chunks + execution.published_chunks
    measured = Usage(
        invocations=Decimal(invocations),
        published_events=Decimal(published),
        write_units=strategy.write_units + execution.write_units,
        read_units=strategy.read_units + execution.read_units,
        handler_log_bytes=Decimal(log_bytes),
    )
    predicted = usage(Decimal(bars), Decimal(bars * strategies), Decimal(trades))
    return MeasuredUsage(bars, trades, measured, predicted)
