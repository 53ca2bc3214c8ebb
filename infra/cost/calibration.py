"""The cost model against a measured run: what the streamer and the handlers really sent AWS (counted by
infra/cost/calls.py) next to what `infra.cost.model.usage` predicts for the same minutes, symbols and trades."""

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

    def dollars(self, prices: dict[str, Decimal | str | list[str]]) -> tuple[Decimal, Decimal]:
        """What the counted quantities cost at `prices`, measured and as the model predicts them."""
        return priced(self.measured, prices), priced(self.predicted, prices)

    def table(self) -> str:
        rows = [f"per bar ({self.bars} bars, {self.trades} trades)          measured      model"]
        for field in fields(Usage):
            measured, predicted = getattr(self.measured, field.name), getattr(self.predicted, field.name)
            rows.append(f"  {field.name:<28} {measured / self.bars:>10.3f} {predicted / self.bars:>10.3f}")
        return "\n".join(rows)


def priced(counted: Usage, prices: dict[str, Decimal | str | list[str]]) -> Decimal:
    """The counted quantities at the region's prices (EventBridge events; Lambda requests; DynamoDB units; log
    ingestion; S3 requests): the part of the bill the end-to-end runs count call by call."""

    def p(name: str) -> Decimal:
        value = prices[name]
        assert isinstance(value, Decimal), name
        return value

    million = Decimal(1_000_000)
    return (
        counted.published_events / million * p("eventbridge_custom_events_per_million")
        + counted.invocations / million * p("lambda_requests_per_million")
        + counted.write_units / million * p("dynamodb_write_request_units_per_million")
        + counted.read_units / million * p("dynamodb_read_request_units_per_million")
        + counted.handler_log_bytes / Decimal(1024**3) * p("cloudwatch_logs_ingest_per_gb")
        + counted.s3_puts / 1000 * p("s3_put_per_thousand")
        + counted.s3_gets / 1000 * p("s3_get_per_thousand")
    )


def measured_usage(
    *,
    minutes: int,
    symbols: int,
    trades: int,
    invocations: int,
    log_bytes: int,
    streamer: CallCounts,
    strategy: CallCounts,
    execution: CallCounts,
    strategies: int = 1,
    cold_starts: int = 0,
    batches: int | None = None,
) -> MeasuredUsage:
    """`minutes` of `symbols` bars through `strategies` strategy functions and execution, as counted on the
    emulators: what the streamer, the strategy functions and execution sent, against the model's prediction
    for the same number of `batches` a minute (by default as the streamer cuts them)."""
    published = streamer.published_chunks + strategy.published_chunks + execution.published_chunks
    measured = Usage(
        invocations=Decimal(invocations),
        published_events=Decimal(published),
        write_units=strategy.write_units + execution.write_units,
        read_units=strategy.read_units + execution.read_units,
        handler_log_bytes=Decimal(log_bytes),
        s3_puts=Decimal(streamer.requests["s3.PutObject"]),
        s3_gets=Decimal(strategy.requests["s3.GetObject"]),
    )
    predicted = usage(Decimal(minutes), symbols, strategies, Decimal(trades), Decimal(cold_starts), batches=batches)
    return MeasuredUsage(minutes * symbols, trades, measured, predicted)
