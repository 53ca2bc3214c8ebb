"""The monthly bill of the deployed stack, line by line, and of one always-on EC2 instance doing the same job.

The workload follows from the sizes: every symbol closes a bar a minute; every strategy is invoked for
every bar of every symbol it watches (here: all of them); a trade is three more events (TargetChanged,
OrderRequested, OrderFilled) and one execution invocation. Per-invocation figures (DynamoDB units, log
bytes, duration) come from the handlers as built: see the constants below and `make bench`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

PRICES = Path(__file__).with_name("prices-us-east-1.json")
MINUTES_PER_MONTH = 30 * 24 * 60
MILLION = Decimal(1_000_000)
GB = Decimal(1024**3)

# Per strategy invocation (one bar for one strategy), as the AWS end-to-end test counts them (infra/cost/calls.py,
# AWS's rounding rules) and checks against these: the bar put (1 WRU, refused as a duplicate for all but the
# first strategy, still billed), one strongly consistent account read (1 RRU: the decision's write is
# conditioned on the version that read saw), the probe for the next bar (a one-bar query, 1 RRU: the warm
# function remembers the window's bars), and the decision transaction rewriting the account (2 WRU).
STRATEGY_WRU = Decimal(3)
STRATEGY_RRU = Decimal(2)
# per trade: the order item in the strategy's decision transaction (2 WRU); execution reads the processed id,
# the kill switch, the order and the account twice each (6 RRU) and writes the settlement transaction (2 items,
# 4 WRU) and the processed id (1 WRU)
STRATEGY_ORDER_WRU = Decimal(2)
EXECUTION_WRU, EXECUTION_RRU = Decimal(5), Decimal(6)
STRATEGY_MS = Decimal(40)  # mostly waiting for DynamoDB: ~6 calls of 5-7 ms
EXECUTION_MS = Decimal(300)  # an exchange round trip dominates; paper execution is far less
FUNCTION_GB = Decimal("0.25")  # 256 MB
HANDLER_LOG_BYTES_PER_INVOCATION = Decimal(705)  # the handler's JSON line and EMF record, measured
LAMBDA_PLATFORM_LOG_BYTES = Decimal(300)  # Lambda's own START, END and REPORT lines per invocation
LOG_BYTES_PER_INVOCATION = HANDLER_LOG_BYTES_PER_INVOCATION + LAMBDA_PLATFORM_LOG_BYTES
BAR_EVENT_BYTES = Decimal(700)
XRAY_RESERVOIR_PER_MONTH = Decimal(MINUTES_PER_MONTH * 60)  # one traced request a second, then 5 %
EMF_METRICS_STRATEGIES = 3  # BarsProcessed, OrdersRequested, BarCloseToOrderLatency, shared by every strategy
EMF_METRICS_EXECUTION = 3
STREAMER_METRICS = 1  # BarsDelivered (PutMetricData once a minute), what the streamer-lag alarm watches
ALARMS = 3  # failed invocations, undelivered, streamer lag: whatever the number of strategies (infra/cdk/watch.py)


@dataclass(frozen=True)
class Sizes:
    symbols: int
    strategies: int
    trades_per_day: Decimal = Decimal(10)  # per strategy and symbol
    streamer_vcpu: Decimal = Decimal("0.25")
    streamer_gb: Decimal = Decimal("0.5")
    history_days: int = 30  # bars kept (TTL is 14 days; the archive keeps a year)
    bus: str = "eventbridge"  # or "sns": a topic with filter policies, no archive (the stack's stds:bus)


@dataclass(frozen=True)
class Usage:
    """What a workload makes AWS count: the quantities the bill multiplies by prices."""

    invocations: Decimal
    published_events: Decimal  # PutEvents entries (each under 64 KB: one billed event each)
    write_units: Decimal
    read_units: Decimal
    handler_log_bytes: Decimal  # written by the handlers (Lambda's platform lines come on top)


def usage(bars: Decimal, strategy_calls: Decimal, trades: Decimal) -> Usage:
    """The counts the model predicts for `bars` closed bars, `strategy_calls` (bar, strategy) deliveries and
    `trades` orders filled; the AWS end-to-end test checks this against what the handlers really sent."""
    invocations = strategy_calls + trades
    return Usage(
        invocations=invocations,
        published_events=bars + 3 * trades,  # each bar; TargetChanged, OrderRequested, OrderFilled per trade
        write_units=strategy_calls * STRATEGY_WRU + trades * (STRATEGY_ORDER_WRU + EXECUTION_WRU),
        read_units=strategy_calls * STRATEGY_RRU + trades * EXECUTION_RRU,
        handler_log_bytes=invocations * HANDLER_LOG_BYTES_PER_INVOCATION,
    )


@dataclass(frozen=True)
class Line:
    item: str
    detail: str
    usd: Decimal


def load_prices(path: Path = PRICES) -> dict[str, Decimal | str | list[str]]:
    document = json.loads(path.read_text())
    return {k: (v if k in ("region", "as_of", "note", "sources") else Decimal(str(v))) for k, v in document.items()}


def _price(prices: dict[str, Decimal | str | list[str]], name: str) -> Decimal:
    value = prices[name]
    assert isinstance(value, Decimal), name
    return value


def serverless_bill(sizes: Sizes, prices: dict[str, Decimal | str | list[str]]) -> list[Line]:
    def p(name: str) -> Decimal:
        return _price(prices, name)

    hours = p("hours_per_month")
    bars = Decimal(sizes.symbols * MINUTES_PER_MONTH)
    trades = Decimal(sizes.strategies * sizes.symbols) * sizes.trades_per_day * 30
    strategy_calls = bars * sizes.strategies
    counted = usage(bars, strategy_calls, trades)
    events = counted.published_events
    invocations = counted.invocations
    archived_gb = bars * BAR_EVENT_BYTES / GB
    lambda_gb_s = (strategy_calls * STRATEGY_MS + trades * EXECUTION_MS) / 1000 * FUNCTION_GB
    wru, rru = counted.write_units, counted.read_units
    stored_gb = Decimal(sizes.symbols * sizes.history_days * 1440) * BAR_EVENT_BYTES / GB
    log_gb = (counted.handler_log_bytes + invocations * LAMBDA_PLATFORM_LOG_BYTES) / GB
    traces = min(invocations, XRAY_RESERVOIR_PER_MONTH) + max(invocations - XRAY_RESERVOIR_PER_MONTH, Decimal(0)) / 20
    alarms = ALARMS
    metrics = EMF_METRICS_STRATEGIES + EMF_METRICS_EXECUTION + STREAMER_METRICS
    return [
        Line("Fargate streamer", f"{sizes.streamer_vcpu} vCPU, {sizes.streamer_gb} GB ARM64, 24/7",
             (sizes.streamer_vcpu * p("fargate_arm_vcpu_hour") + sizes.streamer_gb * p("fargate_arm_gb_hour")) * hours),
        Line("Public IPv4", "the streamer's address (no NAT gateway)", p("public_ipv4_hour") * hours),
        *_bus_lines(sizes, events, archived_gb, p),
        Line("Lambda requests", f"{invocations / MILLION:,.2f} M invocations",
             invocations / MILLION * p("lambda_requests_per_million")),
        Line("Lambda duration", f"{lambda_gb_s:,.0f} GB-s (256 MB ARM64)", lambda_gb_s * p("lambda_arm_gb_second")),
        Line("DynamoDB requests", f"{wru / MILLION:,.1f} M writes, {rru / MILLION:,.1f} M reads (on demand)",
             wru / MILLION * p("dynamodb_write_request_units_per_million")
             + rru / MILLION * p("dynamodb_read_request_units_per_million")),
        Line("DynamoDB storage", f"{stored_gb:,.2f} GB with point-in-time recovery",
             stored_gb * (p("dynamodb_storage_gb_month") + p("dynamodb_pitr_gb_month"))),
        Line("CloudWatch Logs", f"{log_gb:,.2f} GB ingested, kept 30 days",
             log_gb * (p("cloudwatch_logs_ingest_per_gb") + p("cloudwatch_logs_storage_gb_month"))),
        Line("CloudWatch alarms and metrics", f"{alarms} alarms, {metrics} EMF metrics",
             alarms * p("cloudwatch_alarm_month") + metrics * p("cloudwatch_custom_metric_month")),
        Line("X-Ray", f"{traces / MILLION:,.2f} M traces (active tracing sampling)",
             traces / MILLION * p("xray_traces_per_million")),
        Line("Secrets Manager", "one secret", p("secrets_manager_secret_month")),
        reconciliation_line(sizes, p),
    ]  # fmt: skip


# The scheduled reconciliation (infra/aws/handlers/reconciliation.py), every 5 minutes by default: one
# balances call and one open-orders call per symbol to the exchange (~100 ms each, like EXECUTION_MS an
# estimate of the exchange's round trip, not measured on AWS), a consistent scan of the accounts
# (~400 bytes per sub-account, 4 KB per read unit) and one put of the result (~1 KB + 150 bytes per asset).
RECONCILE_EVERY_MIN = 5
RECONCILE_MS_PER_EXCHANGE_CALL = Decimal(100)


def reconciliation_line(sizes: Sizes, p: Callable[[str], Decimal]) -> Line:
    runs = Decimal(MINUTES_PER_MONTH // RECONCILE_EVERY_MIN)
    gb_s = runs * (1 + sizes.symbols) * RECONCILE_MS_PER_EXCHANGE_CALL / 1000 * FUNCTION_GB
    rru = runs * max(1, -(-sizes.strategies * sizes.symbols * 400 // 4096))
    wru = runs * -(-(1024 + 150 * (sizes.symbols + 1)) // 1024)
    usd = (
        runs / MILLION * (p("eventbridge_scheduler_invocations_per_million") + p("lambda_requests_per_million"))
        + gb_s * p("lambda_arm_gb_second")
        + rru / MILLION * p("dynamodb_read_request_units_per_million")
        + wru / MILLION * p("dynamodb_write_request_units_per_million")
        + runs * 2 * LOG_BYTES_PER_INVOCATION / GB * p("cloudwatch_logs_ingest_per_gb")
        + p("cloudwatch_alarm_month") + 2 * p("cloudwatch_custom_metric_month")
    )  # fmt: skip
    return Line("Scheduled reconciliation", f"{runs:,.0f} runs (every {RECONCILE_EVERY_MIN} min), 1 alarm", usd)


def _bus_lines(sizes: Sizes, events: Decimal, archived_gb: Decimal, p: Callable[[str], Decimal]) -> list[Line]:
    if sizes.bus == "sns":  # every message is under 64 KB: one request each; deliveries to Lambda cost nothing
        return [
            Line(
                "SNS publishes",
                f"{events / MILLION:,.2f} M published",
                events / MILLION * p("sns_requests_per_million"),
            )
        ]
    return [
        Line("EventBridge events", f"{events / MILLION:,.2f} M published",
             events / MILLION * p("eventbridge_custom_events_per_million")),
        Line("EventBridge archive", f"{archived_gb:,.2f} GB of bars a month, kept a year",
             archived_gb * p("eventbridge_archive_per_gb_processed")
             + archived_gb * 12 * p("eventbridge_archive_storage_gb_month")),
    ]  # fmt: skip


def ec2_bill(prices: dict[str, Decimal | str | list[str]]) -> list[Line]:
    """One t4g.small (2 vCPU, 2 GB) running `stds run` with SQLite: the same job, no managed parts."""

    def p(name: str) -> Decimal:
        return _price(prices, name)

    hours = p("hours_per_month")
    return [
        Line("EC2 t4g.small", "on demand, 24/7", p("ec2_t4g_small_hour") * hours),
        Line("EBS gp3", "20 GB", 20 * p("ebs_gp3_gb_month")),
        Line("Public IPv4", "the instance's address", p("public_ipv4_hour") * hours),
    ]


def total(lines: list[Line]) -> Decimal:
    return sum((line.usd for line in lines), Decimal(0))


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
