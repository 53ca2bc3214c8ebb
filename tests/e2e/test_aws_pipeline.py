"""The AWS pipeline on emulators: moto's EventBridge (rules → SQS → a poller invoking the Lambda handlers
with real EventBridge payloads), moto's S3 (the streamer's bar spans) and DynamoDB Local, on a day of real
BTCUSDT bars published as the streamer does (minute batches, each written to its span first): trades equal
to replay."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from consumers.execution.consumer import FUNCTION_PATTERN
from consumers.stores.dynamodb import DynamoBook, DynamoKillSwitch, TableNames, create_tables
from consumers.stores.ports import KillSwitchState
from events.envelope import wrap
from events.eventbridge_bus import EventBridgeBus
from events.ids import flatten_order_id
from events.minute_batches import batch_pattern, batches_of
from events.models import BarClosed, OrderFilled
from events.sns_bus import SnsBus
from infra.aws.handlers import execution, strategy
from infra.cli import main
from infra.config import load_config
from infra.cost.calibration import measured_usage
from infra.cost.calls import CallCounter, CallCounts
from infra.local.stores import sqlite_stores
from infra.report.trades import write_trades_csv
from infra.strategy_loader import load_strategy
from tests.conftest import BTCUSDT_SPOT_DAY, spot_day_bars
from tests.emulators.aws import SpanFiles, client, queue_behind_rule, queue_behind_topic
from tests.emulators.lambda_poller import LambdaContext, Poller

CONFIG = """\
[strategies]
sma = { use = "sma_cross", symbols = ["BTC/USDT"], params = { fast = 10, slow = 30, qty = "0.05" } }

[paper]
fee_bps = 10
starting_cash = "10000"
"""


@pytest.fixture
def aws(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    dynamodb: Any,
    *,
    bar_bucket: str,
) -> Iterator[dict[str, Any]]:
    config = tmp_path / "strategies.toml"
    config.write_text(CONFIG)
    prefix = f"e2e{uuid.uuid4().hex[:8]}-"
    tables = TableNames.with_prefix(prefix)
    create_tables(dynamodb, tables)
    bus_name = f"stds-{uuid.uuid4().hex[:8]}"
    client("events", moto_endpoint).create_event_bus(Name=bus_name)
    spec = load_strategy(load_config(config), "sma", tmp_path)
    # the stack's rule: the minute batches holding a bar of the declared pattern
    strategy_queue = queue_behind_rule(moto_endpoint, bus_name, "sma", batch_pattern(spec.pattern))
    execution_queue = queue_behind_rule(moto_endpoint, bus_name, "execution", FUNCTION_PATTERN)  # the stack's rule
    for name, value in {
        "STDS_CONFIG": str(config), "STDS_STRATEGY": "sma", "STDS_TABLE_PREFIX": prefix, "STDS_EVENT_BUS": bus_name,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint,
        "AWS_ENDPOINT_URL_S3": moto_endpoint, "STDS_BAR_BUCKET": bar_bucket,
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "STDS",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    strategy.app.cache_clear()
    execution.app.cache_clear()
    yield {
        "config": config, "tables": tables, "bus": bus_name, "dynamodb": dynamodb,
        "events": client("events", moto_endpoint), "spans": SpanFiles(client("s3", moto_endpoint), bar_bucket),
        "poller": Poller(client("sqs", moto_endpoint), {
            strategy_queue: ("stds-sma", strategy.handler), execution_queue: ("stds-execution", execution.handler),
        }),
    }  # fmt: skip
    strategy.app.cache_clear()
    execution.app.cache_clear()


def _publish_bars(aws: dict[str, Any], bars: list[BarClosed]) -> None:
    """What the streamer does on AWS: each minute's bars into their S3 span, then as one batch to the bus,
    stamped with the minute's close."""
    aws["spans"].write(bars)
    batches = batches_of(bars)
    EventBridgeBus(aws["events"], aws["bus"]).publish([wrap(b, b.closed_at) for b in batches])


def _trades_and_account(aws: dict[str, Any], out: Path) -> tuple[str, Any]:
    book = DynamoBook(aws["dynamodb"], aws["tables"], Decimal(10_000))
    fills = sorted(
        (r.settlement for r in book.orders() if isinstance(r.settlement, OrderFilled)),
        key=lambda fill: fill.bar_open_time_ms,
    )
    write_trades_csv(fills, out / "aws-trades.csv")
    (account,) = book.accounts()
    return (out / "aws-trades.csv").read_text(), account


def _replay(config: Path, out: Path, bars_file: Path) -> tuple[str, Any]:
    assert (
        main(["replay", str(bars_file), "--config", str(config), "--out", str(out), "--no-progress", "--no-chart"]) == 0
    )
    stores = sqlite_stores(out / "state.sqlite", Decimal(10_000), 100)
    (account,) = stores.book.accounts()
    stores.close()
    return (out / "trades.csv").read_text(), account


def _same_holdings(left: Any, right: Any) -> bool:
    fields = ("cash", "position", "pending", "fees", "target", "decided_through_ms", "fills", "rejects")
    return all(getattr(left, name) == getattr(right, name) for name in fields)


def _counted(app: Any) -> CallCounter:
    """A counter on every AWS client a handler's app holds (its bus and its stores)."""
    counter = CallCounter()
    consumer = app.consumer
    holders = [app.bus, getattr(app, "processed", None), consumer.book, getattr(consumer, "bars", None)]
    holders.append(getattr(consumer, "kill_switch", None))
    for holder in holders:
        if holder is not None:
            counter.attach(holder.client)
    return counter


@contextlib.contextmanager
def _handler_logs_to_stdout() -> Iterator[None]:
    """Powertools bound its handlers to the import-time stdout: point them at the (captured) one, then back, so
    the next test never flushes a capture that pytest already closed."""
    handlers = [
        handler
        for service in ("stds-strategy", "stds-execution")
        for handler in logging.getLogger(service).handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    previous = [handler.setStream(sys.stdout) for handler in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream or sys.__stdout__)


def test_a_day_through_eventbridge_and_dynamodb_trades_like_replay(aws: dict[str, Any], tmp_path: Path) -> None:
    bars = spot_day_bars()
    poller: Poller = aws["poller"]
    # Live, bars come a minute apart; here they come 20 at a time and SQS shuffles each batch. The
    # strategy consumer puts displaced bars back in order as long as none is late by a whole window
    # (30 bars): beyond that it decides without the straggler rather than stall, so the batches stay under it.
    for start in range(0, len(bars), 20):
        _publish_bars(aws, bars[start : start + 20])
        poller.run_until_quiet(quiet_s=0.2)
    assert not poller.failures
    trades, account = _trades_and_account(aws, tmp_path)
    replay_trades, replay_account = _replay(aws["config"], tmp_path / "replay", BTCUSDT_SPOT_DAY)
    assert trades.count("\n") > 20
    assert trades == replay_trades
    assert _same_holdings(account, replay_account)


def test_the_cost_model_counts_what_the_handlers_send_aws(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every AWS call of the streamer and both functions, in live order (each minute handled before the next
    closes), counted by AWS's billing rules and checked against the cost model's constants."""
    warm_up, counted = 30, 90  # a window fills first (lookback 30); then the steady state is counted
    bars = spot_day_bars(limit=warm_up + counted)
    poller: Poller = aws["poller"]
    strategy_calls, execution_calls = _counted(strategy.app()), _counted(execution.app())
    streamer_calls = CallCounter()
    streamer_calls.attach(aws["events"])
    streamer_calls.attach(aws["spans"].s3)
    with _handler_logs_to_stdout():
        log_bytes, invocations, trades, counts = _count_steady_state(aws, poller, bars, warm_up, capsys,
            counters=(streamer_calls, strategy_calls, execution_calls))  # fmt: skip
    streamer, strategy_side, execution_side = counts
    measured = measured_usage(
        minutes=counted, symbols=1, trades=trades, invocations=invocations, log_bytes=log_bytes,
        streamer=streamer, strategy=strategy_side, execution=execution_side,
    )  # fmt: skip
    with capsys.disabled():
        print(f"\n{measured.table()}")
    assert not poller.failures and trades >= 2
    # the streamer's only calls: a span rewrite and a batch a minute
    assert streamer.requests == Counter({"events.PutEvents": counted, "s3.PutObject": counted})
    assert measured.disagreements(tolerance=Decimal("0.05")) == []


def _count_steady_state(
    aws: dict[str, Any],
    poller: Poller,
    bars: list[Any],
    warm_up: int,
    capsys: pytest.CaptureFixture[str],
    *,
    counters: tuple[CallCounter, ...],
) -> tuple[int, int, int, tuple[CallCounts, ...]]:
    """Publish each minute and handle everything it causes before the next; count all but the warm-up."""
    for bar in bars[:warm_up]:
        _publish_bars(aws, [bar])
        poller.run_until_quiet(quiet_s=0.02)
    before = [counter.counts for counter in counters]
    invocations_before, fills_before = poller.invocations, _fills(aws)
    capsys.readouterr()
    for bar in bars[warm_up:]:
        _publish_bars(aws, [bar])
        poller.run_until_quiet(quiet_s=0.02)
    log_bytes = len(capsys.readouterr().out.encode())
    counts = tuple(counter.counts - earlier for counter, earlier in zip(counters, before, strict=True))
    return log_bytes, poller.invocations - invocations_before, _fills(aws) - fills_before, counts


def _fills(aws: dict[str, Any]) -> int:
    return sum(account.fills for account in DynamoBook(aws["dynamodb"], aws["tables"], Decimal(10_000)).accounts())


def test_a_flatten_closes_the_position_at_the_next_minute_once_then_halts(aws: dict[str, Any]) -> None:
    """The kill switch engaged as the dashboard does on AWS (the control table), in flatten: the execution function
    hears the next minute's batch and closes at its close, once even when that batch is delivered again."""
    bars = spot_day_bars(limit=240)
    poller: Poller = aws["poller"]
    book = DynamoBook(aws["dynamodb"], aws["tables"], Decimal(10_000))
    switch = DynamoKillSwitch(aws["dynamodb"], aws["tables"].control)
    held_at = 31
    while not (book.accounts() and book.accounts()[0].position):
        _publish_bars(aws, [bars[held_at]])
        poller.run_until_quiet(quiet_s=0.02)
        held_at += 1
    (account,) = book.accounts()
    flatten = KillSwitchState.new("flatten", "exchange incident")
    switch.engage(flatten)
    for _ in range(2):  # the streamer republished that minute after a restart
        _publish_bars(aws, [bars[held_at]])
        poller.run_until_quiet(quiet_s=0.02)
    assert not poller.failures
    assert switch.engaged() == KillSwitchState("halt", "flattened (1 closed): exchange incident", flatten.engagement)
    record = book.order(flatten_order_id(flatten.engagement, "sma", "binance", "BTC/USDT"))
    assert record is not None and isinstance(record.settlement, OrderFilled)
    assert (record.settlement.side, record.settlement.qty) == ("sell", account.position)
    assert record.settlement.price == bars[held_at].close
    (flat,) = book.accounts()
    assert (flat.position, flat.pending, flat.fills) == (Decimal(0), Decimal(0), account.fills + 1)


def test_duplicate_and_concurrent_deliveries_change_nothing(
    aws: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bars = spot_day_bars(limit=240)
    poller: Poller = aws["poller"]
    poller.duplicate, poller.workers = True, 4
    with _handler_logs_to_stdout():
        for start in range(0, len(bars), 20):
            _publish_bars(aws, bars[start : start + 20])
            if start == 160:
                _publish_bars(aws, bars[100:160])  # the streamer republished a stretch after a restart
            poller.run_until_quiet(quiet_s=0.2)
    assert not poller.failures
    trades, account = _trades_and_account(aws, tmp_path)
    day = tmp_path / "first-hours" / BTCUSDT_SPOT_DAY.name  # the name tells replay the symbol
    day.parent.mkdir()
    day.write_text("".join(BTCUSDT_SPOT_DAY.read_text().splitlines(keepends=True)[:240]))
    replay_trades, replay_account = _replay(aws["config"], tmp_path / "replay", day)
    assert trades.count("\n") > 3
    assert trades == replay_trades
    assert _same_holdings(account, replay_account)
    lines = []  # structured JSON lines; concurrent invocations may interleave, so skip any torn line
    for text in capsys.readouterr().out.splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(text))
    metrics = [line for line in lines if "_aws" in line]  # CloudWatch embedded metric format
    assert {"BarsProcessed", "OrdersRequested", "BarCloseToOrderLatency", "OrdersFilled"} <= {
        name for line in metrics for name in line if name[0].isupper()
    }
    decided = [line for line in lines if line.get("message") == "batch decided"]
    assert decided and all(line["correlation_id"] and line["function_name"] == "stds-sma" for line in decided)


def test_a_malformed_delivery_fails_loudly_and_changes_nothing(aws: dict[str, Any]) -> None:
    (batch,) = batches_of(spot_day_bars(limit=1))
    delivery = wrap(batch).to_json_dict()
    delivery["account"] = "123456789012"
    delivery["detail"]["bars"][0]["high"] = "not a number"
    with pytest.raises(Exception, match="high"):
        strategy.handler(delivery, LambdaContext("stds-sma"))
    book = DynamoBook(aws["dynamodb"], aws["tables"], Decimal(10_000))
    assert book.accounts() == []


def test_the_sns_variant_trades_like_replay(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    dynamodb: Any,
    *,
    bar_bucket: str,
) -> None:
    """Same handlers, SNS instead of EventBridge: filter policies select, Lambda's SNS records arrive."""
    config = tmp_path / "strategies.toml"
    config.write_text(CONFIG)
    prefix = f"sns{uuid.uuid4().hex[:8]}-"
    tables = TableNames.with_prefix(prefix)
    create_tables(dynamodb, tables)
    topic = client("sns", moto_endpoint).create_topic(Name=prefix + "events")["TopicArn"]
    bars_filter = {"detail_type": ["BarsClosed"], "timeframe": ["1m"], "symbol": ["BTC/USDT"]}
    strategy_queue = queue_behind_topic(moto_endpoint, topic, prefix + "sma", bars_filter, raw=False)
    orders_filter = {"detail_type": FUNCTION_PATTERN["detail-type"]}
    execution_queue = queue_behind_topic(moto_endpoint, topic, prefix + "execution", orders_filter, raw=False)
    for name, value in {
        "STDS_CONFIG": str(config), "STDS_STRATEGY": "sma", "STDS_TABLE_PREFIX": prefix, "STDS_SNS_TOPIC_ARN": topic,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ENDPOINT_URL_SNS": moto_endpoint,
        "AWS_ENDPOINT_URL_S3": moto_endpoint, "STDS_BAR_BUCKET": bar_bucket,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STDS_EVENT_BUS", raising=False)
    strategy.app.cache_clear()
    execution.app.cache_clear()
    poller = Poller(
        client("sqs", moto_endpoint),
        {strategy_queue: ("stds-sma", strategy.handler), execution_queue: ("stds-execution", execution.handler)},
        sns=True,
    )
    bars = spot_day_bars(limit=240)
    sns_bus = SnsBus(client("sns", moto_endpoint), topic)
    spans = SpanFiles(client("s3", moto_endpoint), bar_bucket)
    try:
        for start in range(0, len(bars), 20):
            spans.write(bars[start : start + 20])
            batches = batches_of(bars[start : start + 20])
            sns_bus.publish([wrap(batch, batch.closed_at) for batch in batches])
            poller.run_until_quiet(quiet_s=0.2)
    finally:
        strategy.app.cache_clear()
        execution.app.cache_clear()
    assert not poller.failures
    aws = {"dynamodb": dynamodb, "tables": tables}
    trades, account = _trades_and_account(aws, tmp_path)
    day = tmp_path / "first-hours" / BTCUSDT_SPOT_DAY.name
    day.parent.mkdir()
    day.write_text("".join(BTCUSDT_SPOT_DAY.read_text().splitlines(keepends=True)[:240]))
    replay_trades, replay_account = _replay(config, tmp_path / "replay", day)
    assert trades.count("\n") > 3 and trades == replay_trades
    assert _same_holdings(account, replay_account)
