"""`stds dashboard --aws` on tables in DynamoDB Local, written by the same consumers as on AWS: the page's data
equals the book the run left, and charts fetch only the bars they draw."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from typing import Any

from consumers.stores.dynamodb import TableNames
from consumers.stores.ports import KillSwitchState
from events.dead_letters import DeadLetterList
from events.streams import StreamKey
from infra.aws.stores import dynamodb_stores
from infra.config import StdsConfig, StrategyLine
from infra.dashboard.archive_reader import ArchiveReader
from infra.dashboard.dynamodb_reader import DynamoReader
from infra.local.runtime import LocalRuntime
from infra.strategy_loader import load_strategies
from producers.streamer.cursors import DynamoCursorItem
from tests.conftest import REPO_ROOT, spot_day_bars
from tests.e2e.dashboard_harness import running_dashboard
from tests.emulators.aws import CountingS3, SpanFiles, client

CASH = Decimal(100_000)


def test_the_aws_tables_show_the_book_the_consumers_wrote(
    dynamodb: Any, dynamodb_endpoint: str, tables: TableNames, moto_endpoint: str, bar_bucket: str
) -> None:
    config = StdsConfig(
        strategies={
            "fast": StrategyLine(use="sma_cross", symbols=["BTC/USDT"], params={"fast": 3, "slow": 8, "qty": "0.5"}),
            "slow": StrategyLine(use="sma_cross", symbols=["BTC/USDT"], params={"fast": 10, "slow": 30}),
        }
    )
    stores = dynamodb_stores(dynamodb, tables, CASH)
    runtime = LocalRuntime(
        load_strategies(config, REPO_ROOT), stores, DeadLetterList(), risk=config.risk_policy(), paper=config.paper
    )
    bars = spot_day_bars(240)
    SpanFiles(client("s3", moto_endpoint), bar_bucket).write(bars)  # what the streamer keeps
    runtime.feed(bars)
    stores.kill_switch.engage(KillSwitchState.new("halt", "exchange incident"))
    book = {account.key.strategy: account for account in stores.book.accounts()}
    last_close = bars[-1].close

    prefix = tables.orders.removesuffix("orders")
    endpoints = {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ENDPOINT_URL_S3": moto_endpoint}
    with running_dashboard("--aws", "--table-prefix", prefix, "--bar-bucket", bar_bucket, env=endpoints) as dashboard:
        snapshot = _get(dashboard.url + "api/snapshot", dashboard.token)
        equity = _get(dashboard.url + "api/equity?points=50", dashboard.token)
        detail = _get(dashboard.url + "api/symbol?exchange=binance&symbol=BTC/USDT&points=24", dashboard.token)

    assert snapshot["kill_switch"] == {"engaged": True, "mode": "halt", "reason": "exchange incident"}
    assert {row["strategy"] for row in snapshot["accounts"]} == {"fast", "slow"}
    for row in snapshot["accounts"]:
        account = book[row["strategy"]]
        assert Decimal(row["pnl"]) == account.cash + account.position * last_close - CASH
        assert Decimal(row["fees"]) == account.fees
        assert row["trades"] == account.fills > 0
    assert snapshot["streams"][0]["last_open_time_ms"] == bars[-1].open_time_ms
    assert len(equity["times"]) <= 50 and set(equity["strategies"]) == {"fast", "slow"}
    assert len(detail["closes"]) == 24  # 240 bars in 24 buckets: each bucket's last bar
    assert detail["closes"][-1] == float(last_close)


def test_closes_read_each_settled_hour_of_the_archive_once(
    dynamodb: Any, tables: TableNames, moto_endpoint: str, bar_bucket: str
) -> None:
    bars = spot_day_bars(180)
    s3 = CountingS3(client("s3", moto_endpoint))
    SpanFiles(s3.real, bar_bucket).write(bars)
    # no account yet: the streams are the ones the streamer keeps cursors for
    DynamoCursorItem(dynamodb, tables.control).save({StreamKey("binance", "BTC/USDT", "1m"): bars[-1].open_time_ms})
    reader = DynamoReader(dynamodb, tables, ArchiveReader(s3, bar_bucket))
    (stream,) = reader.streams()
    for _ in range(3):  # refreshes
        closes = reader.closes(stream, bars[0].open_time_ms, bars[-1].open_time_ms, 10 * 60_000)
        assert closes.times_ms == [bar.open_time_ms for bar in bars[9::10]]
        assert closes.closes == [float(bar.close) for bar in bars[9::10]]
    assert len(s3.gets) == len(set(s3.gets)) == 3  # three hours, each read once: they ended long ago


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
