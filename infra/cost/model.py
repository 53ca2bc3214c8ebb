"""The monthly bill of the deployed stack, line by line, and of one always-on EC2 instance doing the same job.

The workload follows from the sizes. Every minute the streamer writes the minute's bars once, to their S3
span, and publishes them as one `BarsClosed` event (billed per started 64 KB chunk; more than one batch only
past 256 KB, about 1,400 symbols: events/minute_batches.py); each strategy function is invoked once per batch
holding its symbols (here every strategy watches every symbol) and decides them all: one Query reads its
sub-accounts, one put saves its decision cursors, and only a trade writes an account. A trade is three more
events (TargetChanged, OrderRequested, OrderFilled) and one execution invocation. The streamer also logs a
heartbeat, saves its cursors and puts its BarsDelivered metric once a minute. Per-invocation figures (DynamoDB
units, log bytes) are what the AWS end-to-end test counts (`infra/cost/calls.py`, AWS's rounding rules) and
checks these constants against; durations come from `make bench` on a full core, and Lambda gives a 256 MB
function a share of one (LAMBDA_MB_PER_VCPU).

Prices are per region, one file each (`prices-REGION.json`, each value's source in it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from events.minute_batches import BATCH_DETAIL_BYTES, BILLED_CHUNK_BYTES
from events.timeframes import timeframe_ms

PRICES_FOLDER = Path(__file__).parent
DEFAULT_REGION = "ap-northeast-1"  # where stds deploy goes (infra/cli/options.py)
MINUTES_PER_MONTH = 30 * 24 * 60
MILLION = Decimal(1_000_000)
GB = Decimal(1024**3)
KB = 1024

# One bar in a batch: its row and its entry in `symbols` (measured on the 94 recorded Binance pairs); a batch is
# cut with room for the symbol once more (SNS's `symbol` attribute)
BATCH_ROW_BYTES = 170
SYMBOL_BYTES = 12
# DynamoDB item sizes (AWS's rule: names plus values), measured on the e2e runs: a sub-account, and one entry of
# a strategy's cursor item ("binance|BTC/USDT" → open time)
ACCOUNT_ITEM_BYTES = 190
CURSOR_ENTRY_BYTES = 24
CURSOR_ITEM_BYTES = 60
# per trade: the strategy's decision transaction (the account and the new order, 2 WRU each); execution reads
# the processed id, the kill switch, the order and the account twice each (6 RRU) and writes the settlement
# transaction (2 items, 4 WRU) and the processed id (1 WRU)
STRATEGY_TRADE_WRU = Decimal(4)
EXECUTION_WRU, EXECUTION_RRU = Decimal(5), Decimal(6)
# execution also hears each minute's batches, to carry out a kill switch's flatten: one read of the switch each
MINUTE_CHECK_RRU = Decimal(1)
# Lambda durations, from `make bench` (DynamoDB Local on loopback, so AWS's few ms per call come on top): an
# invocation's Query, cursor put and publish, plus each bar's decision, plus a trade's transaction
# The per-invocation figure is mostly waiting on the stores and the bus (not scaled); a bar's decision and a
# trade's bookkeeping are CPU, measured on a full core and scaled to the function's share of one.
STRATEGY_MS_PER_INVOCATION = Decimal(40)
STRATEGY_CPU_MS_PER_BAR = Decimal("0.15")
STRATEGY_CPU_MS_PER_TRADE = Decimal(15)
EXECUTION_MS = Decimal(300)  # an exchange round trip dominates; paper execution is far less
FUNCTION_MB = 256
FUNCTION_GB = Decimal(FUNCTION_MB) / 1024
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one full vCPU at 1,769 MB, and CPU in proportion below it
FUNCTION_VCPU = Decimal(FUNCTION_MB) / LAMBDA_MB_PER_VCPU  # 0.145 vCPU at 256 MB
STRATEGY_LOG_BYTES = Decimal(725)  # one JSON line per invocation, its metrics embedded (measured)
EXECUTION_LOG_BYTES = Decimal(705)  # the handler's JSON line and powertools' EMF record (measured)
LAMBDA_PLATFORM_LOG_BYTES = Decimal(300)  # Lambda's own START, END and REPORT lines per invocation
LOG_BYTES_PER_INVOCATION = EXECUTION_LOG_BYTES + LAMBDA_PLATFORM_LOG_BYTES  # the scheduled reconciliation's
TRACED_MINUTES_PER_MONTH = Decimal(MINUTES_PER_MONTH // 60)  # the streamer samples one minute an hour
XRAY_SAMPLED_RATE = Decimal("0.05")
# The streamer, once a minute (producers/streamer/supervisor.py): a heartbeat log line (its counters, and each
# symbol's lag in bars and seconds since its last publish), a put of its cursor item (each stream's key and open
# time) in the control table, and a PutMetricData of BarsDelivered (infra/aws/delivered_bars_metric.py). Sizes
# from the formats: "BTC/USDT|1m": 0 and "BTC/USDT|1m": 12.3 in the heartbeat, "binance|BTC/USDT|1m":
# 1700000000000 in the cursor item.
STREAMER_HEARTBEAT_BYTES, STREAMER_HEARTBEAT_BYTES_PER_SYMBOL = 400, 40
STREAMER_CURSOR_ITEM_BYTES, STREAMER_CURSOR_BYTES_PER_SYMBOL = 40, 38
# The streamer image in ECR, compressed: python:3.13-slim for ARM64 and pyproject.toml's dependencies (344 MB
# installed), about 40 % of ~470 MB; an estimate, not a measured push. CDK's asset repository keeps every image a
# deploy pushed: a month's storage per image kept.
STREAMER_IMAGE_GB = Decimal("0.2")
COLD_STARTS_PER_DAY = 24  # per strategy function: Lambda recycles a busy instance every few hours; be generous
SPAN_GETS_PER_COLD_START = 2  # a lookback of up to an hour is at most two spans
BAR_RETENTION_DAYS = 14  # the bucket's lifecycle rule
ORDER_ITEM_BYTES = 1400  # an order with its settlement: the audit trail, kept
EMF_METRICS_STRATEGIES = 3  # BarsProcessed, OrdersRequested, BarCloseToOrderLatency, shared by every strategy
EMF_METRICS_EXECUTION = 3
STREAMER_METRICS = 1  # BarsDelivered (PutMetricData once a minute), what the streamer-lag alarm watches
ALARMS = 3  # failed invocations, undelivered, streamer lag: whatever the number of strategies (infra/cdk/watch.py)
SPOT_DISCOUNT = Decimal("0.5")  # Fargate Spot is 50-70 % off on-demand, varying: the least discount is assumed


@dataclass(frozen=True)
class Sizes:
    symbols: int
    strategies: int
    trades_per_day: Decimal = Decimal(10)  # per strategy and symbol
    streamer_vcpu: Decimal = Decimal("0.25")
    streamer_gb: Decimal = Decimal("0.5")
    bus: str = "eventbridge"  # or "sns": a topic with filter policies, no archive (the stack's stds:bus)
    spot: bool = False  # the stack's streamer_spot: Spot alone, else an on-demand task (infra/cdk/streamer.py)
    images_kept: int = 1  # streamer images in ECR (every deploy that changed the code pushed one)
    timeframe: str = "1m"  # the strategies' bars: a 1h strategy is invoked once an hour


def chunks_per_minute(symbols: int) -> int:
    """Billed events (started 64 KB) a minute of `symbols` bars is published as."""
    return max(1, math.ceil(symbols * BATCH_ROW_BYTES / (BILLED_CHUNK_BYTES - 2048)))


def batches_per_minute(symbols: int) -> int:
    """Events a minute of `symbols` bars is published as, and so invocations of each strategy a minute."""
    return max(1, math.ceil(symbols * (BATCH_ROW_BYTES + SYMBOL_BYTES) / BATCH_DETAIL_BYTES))


@dataclass(frozen=True)
class Usage:
    """What a workload makes AWS count: the quantities the bill multiplies by prices."""

    invocations: Decimal
    published_events: Decimal  # PutEvents entries (each under 64 KB: one billed event each)
    write_units: Decimal
    read_units: Decimal
    handler_log_bytes: Decimal  # written by the handlers (Lambda's platform lines come on top)
    s3_puts: Decimal
    s3_gets: Decimal


def closes_in(minutes: Decimal, timeframe: str) -> Decimal:
    """Bars of `timeframe` a stream closes in `minutes` (1 in 60 for 1h): how often a strategy on them is invoked."""
    return minutes * timeframe_ms("1m") / timeframe_ms(timeframe)


def usage(
    minutes: Decimal,
    symbols: int,
    strategies: int,
    trades: Decimal,
    cold_starts: Decimal,
    *,
    batches: int | None = None,
    chunks: int | None = None,
    timeframe: str = "1m",
) -> Usage:
    """The counts the model predicts for `minutes` of `symbols` bars through `strategies` strategy functions,
    `trades` orders filled and `cold_starts` strategy function starts, the minute published as `batches` events
    billed as `chunks` 64 KB chunks (by default as batches_of cuts it); the AWS end-to-end tests check this
    against what the streamer and the handlers really sent. Each invocation of a minute reads all the strategy's
    sub-accounts and rewrites its whole cursor item, so a second batch costs a whole second invocation. Strategies
    on `timeframe` bars above 1m are invoked once a bar; those bars are batches of their own, published and
    written to their S3 span with the minute that closes them."""
    batches = batches or batches_per_minute(symbols)
    chunks = max(chunks or chunks_per_minute(symbols), batches)
    closes = closes_in(minutes, timeframe)
    higher = closes if timeframe != "1m" else Decimal(0)  # the higher bars' own batches and span writes
    strategy_calls = closes * strategies * batches
    query_rru = math.ceil(symbols * (ACCOUNT_ITEM_BYTES + CURSOR_ENTRY_BYTES) / (4 * KB))
    cursor_wru = math.ceil((CURSOR_ITEM_BYTES + symbols * CURSOR_ENTRY_BYTES) / KB)
    return Usage(
        # execution hears every batch (a flatten closes at it): one invocation and one read of the switch each
        invocations=strategy_calls + (minutes + higher) * batches + trades,
        published_events=(minutes + higher) * chunks + 3 * trades,
        write_units=strategy_calls * cursor_wru + trades * (STRATEGY_TRADE_WRU + EXECUTION_WRU),
        read_units=strategy_calls * query_rru
        + (minutes + higher) * batches * MINUTE_CHECK_RRU
        + trades * EXECUTION_RRU,
        handler_log_bytes=strategy_calls * STRATEGY_LOG_BYTES + trades * EXECUTION_LOG_BYTES,
        s3_puts=minutes + higher,  # one span rewrite a minute per exchange and timeframe
        s3_gets=cold_starts * SPAN_GETS_PER_COLD_START,
    )


@dataclass(frozen=True)
class Line:
    item: str
    detail: str
    usd: Decimal


class UnknownRegion(ValueError):
    pass


def priced_regions() -> list[str]:
    return sorted(path.stem.removeprefix("prices-") for path in PRICES_FOLDER.glob("prices-*.json"))


def load_prices(region: str = DEFAULT_REGION) -> dict[str, Decimal | str | list[str]]:
    """The region's price file; a region without one is refused naming those there are."""
    path = PRICES_FOLDER / f"prices-{region}.json"
    if not path.exists():
        raise UnknownRegion(
            f"no prices for {region}: infra/cost/ has {', '.join(priced_regions())}; add prices-{region}.json "
            "with the same keys, each from AWS's pricing pages for that region"
        )
    document = json.loads(path.read_text())
    return {key: (value if key in TEXT_KEYS else Decimal(str(value))) for key, value in document.items()}


TEXT_KEYS = ("region", "as_of", "note", "sources")


def _price(prices: dict[str, Decimal | str | list[str]], name: str) -> Decimal:
    value = prices[name]
    assert isinstance(value, Decimal), name
    return value


def fargate_month(sizes: Sizes, p: Callable[[str], Decimal], *, spot: bool) -> Decimal:
    """The streamer's task for a month, on demand or on Spot (at the least discount AWS quotes)."""
    hourly = sizes.streamer_vcpu * p("fargate_arm_vcpu_hour") + sizes.streamer_gb * p("fargate_arm_gb_hour")
    month = hourly * p("hours_per_month")
    return month * (1 - SPOT_DISCOUNT) if spot else month


def lambda_sampled(requests_per_minute: Decimal) -> Decimal:
    """Traces a minute of an actively traced function: Lambda's default sampling records the first request each
    second and 5 % of the rest, and a minute's orders arrive in a burst of about a second."""
    if requests_per_minute <= 1:
        return requests_per_minute
    return 1 + XRAY_SAMPLED_RATE * (requests_per_minute - 1)


def serverless_bill(sizes: Sizes, prices: dict[str, Decimal | str | list[str]]) -> list[Line]:
    def p(name: str) -> Decimal:
        return _price(prices, name)

    hours = p("hours_per_month")
    minutes = Decimal(MINUTES_PER_MONTH)
    chunks, batches = chunks_per_minute(sizes.symbols), batches_per_minute(sizes.symbols)
    trades = Decimal(sizes.strategies * sizes.symbols) * sizes.trades_per_day * 30
    cold_starts = Decimal(sizes.strategies * batches * COLD_STARTS_PER_DAY * 30)
    counted = usage(minutes, sizes.symbols, sizes.strategies, trades, cold_starts, timeframe=sizes.timeframe)
    decisions = closes_in(minutes, sizes.timeframe) * sizes.strategies  # per symbol
    strategy_calls = decisions * batches
    events, invocations = counted.published_events, counted.invocations
    bar_gb = minutes * sizes.symbols * BATCH_ROW_BYTES / GB  # a month of bars
    strategy_ms = strategy_calls * STRATEGY_MS_PER_INVOCATION + (
        decisions * sizes.symbols * STRATEGY_CPU_MS_PER_BAR + trades * STRATEGY_CPU_MS_PER_TRADE
    ) / min(FUNCTION_VCPU, Decimal(1))
    lambda_gb_s = (strategy_ms + trades * EXECUTION_MS) / 1000 * FUNCTION_GB
    wru, rru = counted.write_units, counted.read_units
    orders_gb = trades * ORDER_ITEM_BYTES / GB  # a month's orders: the table grows by this each month
    log_gb = (counted.handler_log_bytes + invocations * LAMBDA_PLATFORM_LOG_BYTES) / GB
    traces = TRACED_MINUTES_PER_MONTH * sizes.strategies + minutes * lambda_sampled(trades / minutes)
    metrics = EMF_METRICS_STRATEGIES + EMF_METRICS_EXECUTION + STREAMER_METRICS
    on_demand, spot = fargate_month(sizes, p, spot=False), fargate_month(sizes, p, spot=True)
    heartbeat_gb = minutes * (STREAMER_HEARTBEAT_BYTES + sizes.symbols * STREAMER_HEARTBEAT_BYTES_PER_SYMBOL) / GB
    cursor_wru = minutes * math.ceil(
        (STREAMER_CURSOR_ITEM_BYTES + sizes.symbols * STREAMER_CURSOR_BYTES_PER_SYMBOL) / KB
    )
    return [
        Line(
            "Fargate streamer",
            f"{sizes.streamer_vcpu} vCPU, {sizes.streamer_gb} GB ARM64, 24/7, "
            + (
                f"Spot alone (at {SPOT_DISCOUNT:.0%} off; on demand: {cents(on_demand)})"
                if sizes.spot
                else f"on demand (Spot alone: {cents(spot)}, no bars while Spot has no capacity)"
            ),
            spot if sizes.spot else on_demand,
        ),
        Line("Public IPv4", "the streamer's address (no NAT gateway)", p("public_ipv4_hour") * hours),
        Line(
            "Streamer heartbeat, cursors",
            f"{heartbeat_gb:,.3f} GB of logs, {cursor_wru / MILLION:,.2f} M cursor write units, "
            f"{minutes:,.0f} PutMetricData",
            heartbeat_gb * (p("cloudwatch_logs_ingest_per_gb") + p("cloudwatch_logs_storage_gb_month"))
            + cursor_wru / MILLION * p("dynamodb_write_request_units_per_million")
            + minutes / 1000 * p("cloudwatch_put_metric_data_per_thousand"),
        ),
        Line(
            "ECR streamer image",
            f"{STREAMER_IMAGE_GB * sizes.images_kept} GB ({sizes.images_kept} image{'s' * (sizes.images_kept > 1)})",
            STREAMER_IMAGE_GB * sizes.images_kept * p("ecr_storage_gb_month"),
        ),
        *_bus_lines(sizes, events, bar_gb, (chunks, batches), p),
        Line(
            "S3 bar spans",
            f"{counted.s3_puts:,.0f} PUTs, {counted.s3_gets:,.0f} GETs, {BAR_RETENTION_DAYS} days kept",
            counted.s3_puts / 1000 * p("s3_put_per_thousand")
            + counted.s3_gets / 1000 * p("s3_get_per_thousand")
            + bar_gb * BAR_RETENTION_DAYS / 30 * p("s3_storage_gb_month"),
        ),
        Line(
            "Lambda requests",
            f"{invocations / MILLION:,.2f} M invocations",
            invocations / MILLION * p("lambda_requests_per_million"),
        ),
        Line(
            "Lambda duration",
            f"{lambda_gb_s:,.0f} GB-s ({FUNCTION_MB} MB ARM64: {FUNCTION_VCPU:.3f} vCPU)",
            lambda_gb_s * p("lambda_arm_gb_second"),
        ),
        Line(
            "DynamoDB requests",
            f"{wru / MILLION:,.2f} M writes, {rru / MILLION:,.2f} M reads (on demand)",
            wru / MILLION * p("dynamodb_write_request_units_per_million")
            + rru / MILLION * p("dynamodb_read_request_units_per_million"),
        ),
        Line(
            "DynamoDB storage",
            f"{orders_gb:,.2f} GB of orders a month, with point-in-time recovery (first month; grows by as much)",
            orders_gb * (p("dynamodb_storage_gb_month") + p("dynamodb_pitr_gb_month")),
        ),
        Line(
            "CloudWatch Logs",
            f"{log_gb:,.2f} GB ingested, kept 30 days",
            log_gb * (p("cloudwatch_logs_ingest_per_gb") + p("cloudwatch_logs_storage_gb_month")),
        ),
        Line(
            "CloudWatch alarms and metrics",
            f"{ALARMS} alarms, {metrics} metrics",
            ALARMS * p("cloudwatch_alarm_month") + metrics * p("cloudwatch_custom_metric_month"),
        ),
        Line(
            "X-Ray",
            f"{traces:,.0f} traces (a sampled minute an hour per strategy; execution as Lambda samples it)",
            traces / MILLION * p("xray_traces_per_million"),
        ),
        Line("Secrets Manager", "one secret", p("secrets_manager_secret_month")),
        reconciliation_line(sizes, p),
    ]


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
        + runs / MILLION * p("xray_traces_per_million")  # traced, like execution
        + p("cloudwatch_alarm_month")
        + 2 * p("cloudwatch_custom_metric_month")
    )
    return Line("Scheduled reconciliation", f"{runs:,.0f} runs (every {RECONCILE_EVERY_MIN} min, traced), 1 alarm", usd)


def _bus_lines(
    sizes: Sizes, events: Decimal, bar_gb: Decimal, per_minute: tuple[int, int], p: Callable[[str], Decimal]
) -> list[Line]:
    chunks, batches = per_minute
    shape = f"{batches} event{'s' * (batches > 1)} a minute" + (f", billed as {chunks}" if chunks > batches else "")
    detail = f"{events / MILLION:,.2f} M billed ({shape}; 3 per trade)"
    if sizes.bus == "sns":  # every message is under 64 KB: one request each; deliveries to Lambda cost nothing
        return [Line("SNS publishes", detail, events / MILLION * p("sns_requests_per_million"))]
    return [
        Line("EventBridge events", detail, events / MILLION * p("eventbridge_custom_events_per_million")),
        Line(
            "EventBridge archive",
            f"{bar_gb:,.2f} GB of bars a month, kept a year",
            bar_gb * p("eventbridge_archive_per_gb_processed")
            + bar_gb * 12 * p("eventbridge_archive_storage_gb_month"),
        ),
    ]


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
