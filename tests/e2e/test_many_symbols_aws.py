"""All 94 recorded Binance spot pairs through the AWS path, 5 strategies deciding every symbol: each minute
written to its S3 span and published as minute batches to moto's EventBridge, rules delivering to the handlers
through SQS, stores in DynamoDB Local. The trades and holdings equal `stds replay` of the same freqtrade files,
and the AWS calls per minute are printed beside the cost model's.

The test runs the first `STDS_E2E_MINUTES` minutes of the day (60 by default, with lookbacks short enough to
trade in them); `make e2e-day` runs all 1,440.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from consumers.execution.consumer import FUNCTION_PATTERN
from consumers.stores.dynamodb import DynamoBook, TableNames, create_tables
from events.dead_letters import DeadLetterList
from events.envelope import wrap
from events.eventbridge_bus import EventBridgeBus
from events.minute_batches import BATCH_DETAIL_BYTES, batch_pattern, batches_of
from events.models import BarClosed, OrderFilled
from infra.aws.handlers import execution, strategy
from infra.cli import main
from infra.config import load_config
from infra.cost.calibration import measured_usage
from infra.cost.calls import CallCounter
from infra.local.stores import sqlite_stores
from infra.strategy_loader import load_strategies
from producers.replay.sources import open_sources
from tests.conftest import SHARED_DATA
from tests.emulators.aws import SpanFiles, client, queue_behind_rule
from tests.emulators.lambda_poller import Poller

DAY = SHARED_DATA / "binance/spot/freqtrade_json/1m/2021-05-07"
MINUTES = int(os.environ.get("STDS_E2E_MINUTES", "60"))
CASH = Decimal(100_000)
CONFIG = """\
[strategies]
sma         = { use = "sma_cross", params = { fast = 5, slow = 15, qty = "1" } }
sma_ls      = { use = "sma_cross", params = { fast = 10, slow = 30, mode = "long_short", qty = "1" } }
donchian    = { use = "donchian_breakout" }
bollinger   = { use = "bollinger_reversion" }
rsi         = { use = "rsi_reversion", params = { period = 7 } }

[risk]
max_position = "1000000"
max_order_notional = "1000000"

[paper]
fee_bps = 10
starting_cash = "100000"
"""


@pytest.fixture
def day(tmp_path: Path) -> Path:
    """The first MINUTES rows of each pair's file, as freqtrade writes them."""
    folder = tmp_path / "day"
    folder.mkdir()
    for path in sorted(DAY.glob("*.json")):
        (folder / path.name).write_text(json.dumps(json.loads(path.read_text())[:MINUTES]))
    return folder


@pytest.fixture
def strategies_text() -> str:
    """The strategies file the deployment runs (a test module may define its own)."""
    return CONFIG


@pytest.fixture
def deployment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    dynamodb: Any,
    *,
    bar_bucket: str,
    strategies_text: str,
) -> Iterator[dict[str, Any]]:
    config = tmp_path / "strategies.toml"
    config.write_text(strategies_text)
    prefix = f"many{uuid.uuid4().hex[:8]}-"
    tables = TableNames.with_prefix(prefix)
    create_tables(dynamodb, tables)
    bus = f"stds-{uuid.uuid4().hex[:8]}"
    client("events", moto_endpoint).create_event_bus(Name=bus)
    sqs = client("sqs", moto_endpoint)
    pollers = {
        spec.name: Poller(
            sqs,
            {
                queue_behind_rule(moto_endpoint, bus, spec.name, batch_pattern(spec.pattern)): (
                    spec.name,
                    strategy.handler,
                )
            },
        )
        for spec in load_strategies(load_config(config), tmp_path)
    }
    orders = queue_behind_rule(moto_endpoint, bus, "execution", FUNCTION_PATTERN)
    for name, value in {
        "STDS_CONFIG": str(config), "STDS_TABLE_PREFIX": prefix, "STDS_EVENT_BUS": bus, "STDS_BAR_BUCKET": bar_bucket,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint,
        "AWS_ENDPOINT_URL_S3": moto_endpoint, "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    strategy.app.cache_clear()
    execution.app.cache_clear()
    yield {
        "config": config,
        "tables": tables,
        "dynamodb": dynamodb,
        "monkeypatch": monkeypatch,
        "events": client("events", moto_endpoint),
        "bus": bus,
        "spans": SpanFiles(client("s3", moto_endpoint), bar_bucket),
        "strategies": pollers,
        "execution": Poller(sqs, {orders: ("stds-execution", execution.handler)}),
    }
    strategy.app.cache_clear()
    execution.app.cache_clear()


def test_94_symbols_and_5_strategies_through_eventbridge_and_dynamodb_trade_like_replay(
    deployment: dict[str, Any], day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    minutes: dict[int, list[BarClosed]] = defaultdict(list)
    for bar in open_sources([day], DeadLetterList()):
        minutes[bar.open_time_ms].append(bar)
    symbols = len(minutes[min(minutes)])
    assert symbols == 94
    streamer, functions, invocations = run_live(deployment, minutes)
    book = DynamoBook(deployment["dynamodb"], deployment["tables"], CASH)
    fills = [r.settlement for r in book.orders() if isinstance(r.settlement, OrderFilled)]
    aws_trades = sorted(_trade_row(fill) for fill in fills)
    replay_trades, replay_accounts = _replay(deployment["config"], day, tmp_path / "replay")
    assert len(aws_trades) > 20
    assert aws_trades == replay_trades
    accounts = {a.key: a for a in book.accounts()}
    assert set(accounts) <= set(replay_accounts)
    for key in set(replay_accounts) - set(accounts):  # never written on AWS: nothing but its cursor ever changed
        untouched = replay_accounts[key]
        assert (untouched.cash, untouched.position, untouched.target, untouched.fills) == (CASH, 0, 0, 0), key
    for key, account in accounts.items():
        theirs = replay_accounts[key]
        fields = ("cash", "position", "pending", "fees", "target", "decided_through_ms", "fills", "rejects")
        assert all(getattr(account, name) == getattr(theirs, name) for name in fields), key

    # one invocation per strategy and minute, whatever the number of symbols
    assert invocations == Counter({name: len(minutes) for name in deployment["strategies"]})
    requests = streamer.counts.requests + functions.counts.requests
    measured = measured_usage(
        minutes=len(minutes), symbols=symbols, strategies=len(invocations), trades=len(fills),
        invocations=sum(invocations.values()) + deployment["execution"].invocations, log_bytes=0,
        streamer=streamer.counts, strategy=functions.counts, execution=CallCounter().counts,
        cold_starts=len(invocations),
    )  # fmt: skip
    with capsys.disabled():
        print(f"\n{symbols} symbols x {len(invocations)} strategies, {len(minutes)} minutes, {len(fills)} trades")
        print(f"AWS requests per minute: { {k: round(v / len(minutes), 2) for k, v in sorted(requests.items())} }")
        print(measured.table())
    assert streamer.counts.requests == Counter({"events.PutEvents": len(minutes), "s3.PutObject": len(minutes)})
    # Log bytes are not captured here, and S3 reads are cold starts (the model assumes a day's worth). The
    # model's Query size assumes every sub-account exists; here those that never traded have no item yet.
    wrong = measured.disagreements(tolerance=Decimal("0.05"))
    assert [line for line in wrong if not line.startswith(("handler_log_bytes", "s3_gets", "read_units"))] == []
    assert measured.measured.read_units <= measured.predicted.read_units


def run_live(
    deployment: dict[str, Any], minutes: dict[int, list[BarClosed]], max_detail_bytes: int = BATCH_DETAIL_BYTES
) -> tuple[CallCounter, CallCounter, Counter[str]]:
    """Each minute in live order, handled before the next closes: its span written, its batches published (cut
    at `max_detail_bytes`), every strategy's deliveries and then execution's run. The streamer's and the
    functions' calls counted, and each strategy's invocations."""
    streamer, functions = CallCounter(), CallCounter()
    streamer.attach(deployment["events"])
    streamer.attach(deployment["spans"].s3)
    bus = EventBridgeBus(deployment["events"], deployment["bus"])
    with execution.app.take() as app:  # the instance the poller will use
        functions.attach(app.bus.client)
        functions.attach(app.consumer.book.client)
        functions.attach(app.processed.client)
        functions.attach(app.consumer.kill_switch.client)
    invocations = Counter[str]()
    for open_time in sorted(minutes):  # live order: each minute handled before the next closes
        bars = minutes[open_time]
        deployment["spans"].write(bars)
        bus.publish([wrap(batch, batch.closed_at) for batch in batches_of(bars, max_detail_bytes)])
        for name, poller in deployment["strategies"].items():
            deployment["monkeypatch"].setenv("STDS_STRATEGY", name)
            with strategy.app.take() as app:  # count this function's calls too (attaching twice counts once)
                for holder in (app.bus, app.consumer.book, app.consumer.bars):
                    functions.attach(holder.client)
            before = poller.invocations
            poller.run_until_quiet(quiet_s=0.02)
            invocations[name] += poller.invocations - before
            assert not poller.failures, poller.failures[:3]
        deployment["execution"].run_until_quiet(quiet_s=0.02)
        assert not deployment["execution"].failures
    return streamer, functions, invocations


def _trade_row(fill: OrderFilled) -> tuple[int, str, str, str, Decimal, Decimal, Decimal]:
    return (fill.bar_open_time_ms, fill.strategy, fill.symbol, fill.side, fill.qty, fill.price, fill.fee)


def _replay(config: Path, day: Path, out: Path) -> tuple[list[Any], dict[Any, Any]]:
    assert main(["replay", str(day), "--config", str(config), "--out", str(out), "--no-progress", "--no-chart"]) == 0
    stores = sqlite_stores(out / "state.sqlite", CASH, 100)
    try:
        fills = [r.settlement for r in stores.book.orders() if isinstance(r.settlement, OrderFilled)]
        return sorted(_trade_row(fill) for fill in fills), {a.key: a for a in stores.book.accounts()}
    finally:
        stores.close()
