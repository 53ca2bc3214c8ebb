"""What a handler reads from its Lambda environment, validated once at init with errors that say what to set.

| variable | meaning |
|---|---|
| `STDS_CONFIG` | the strategies TOML bundled with the function (default `strategies.toml` in the task root) |
| `STDS_STRATEGY` | strategy handler: the instance name in that file |
| `STDS_TABLE_PREFIX` | DynamoDB tables are `<prefix>subaccounts`, `<prefix>orders`, … |
| `STDS_BAR_BUCKET` | strategy handler: the S3 bucket the streamer keeps recent bars in (events/bar_archive.py) |
| `STDS_EVENT_BUS` / `STDS_SNS_TOPIC_ARN` | where emitted events go (one of them) |
| `STDS_BROKER` | execution: `paper` (default) or `ccxt` |
| `STDS_EXCHANGE_SECRET_ID` | ccxt broker: Secrets Manager id of `{"apiKey", "secret"}` (else the environment) |
| `STDS_EXCHANGE_SANDBOX` | ccxt broker: `true` for the exchange's testnet |
| `STDS_EXCHANGE_REST_URL` | ccxt broker: a Binance-compatible REST base instead of the exchange's |

boto3 reads its own endpoint overrides (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_EVENTS`, …), which
is how the tests point handlers at DynamoDB Local and moto.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session

from consumers.stores.dynamodb import TableNames
from consumers.stores.ports import BarStore, Stores
from events.bus import Bus
from events.eventbridge_bus import EventBridgeBus
from events.sns_bus import SnsBus
from infra.config import ConfigError, StdsConfig, load_config


@dataclass(frozen=True)
class HandlerEnvironment:
    config: StdsConfig
    config_dir: Path
    table_prefix: str
    event_bus: str | None
    topic_arn: str | None
    bar_bucket: str | None = None

    @classmethod
    def read(cls, environ: Mapping[str, str] = os.environ) -> HandlerEnvironment:
        root = Path(environ.get("LAMBDA_TASK_ROOT", "."))
        config_path = Path(environ.get("STDS_CONFIG", root / "strategies.toml"))
        prefix = _required(environ, "STDS_TABLE_PREFIX", "the DynamoDB table name prefix, e.g. stds-prod-")
        bus, topic = environ.get("STDS_EVENT_BUS"), environ.get("STDS_SNS_TOPIC_ARN")
        if bool(bus) == bool(topic):
            raise ConfigError("set exactly one of STDS_EVENT_BUS (EventBridge bus name) or STDS_SNS_TOPIC_ARN")
        bucket = environ.get("STDS_BAR_BUCKET") or None
        return cls(load_config(config_path), config_path.parent, prefix, bus, topic, bucket)

    def client(self, service: str) -> Any:
        """A botocore client (what boto3 returns, without boto3's import: ~35 ms less cold start)."""
        return _session().create_client(service)

    def stores(self, bars: BarStore | None = None) -> Stores:
        from infra.aws.stores import dynamodb_stores

        names = TableNames.with_prefix(self.table_prefix)
        return dynamodb_stores(self.client("dynamodb"), names, self.config.paper.starting_cash, bars)

    def required_bar_bucket(self) -> str:
        if not self.bar_bucket:
            raise ConfigError("STDS_BAR_BUCKET is not set: it must hold the S3 bucket the streamer keeps bars in")
        return self.bar_bucket

    def bus(self) -> Bus:
        if self.event_bus:
            return EventBridgeBus(self.client("events"), self.event_bus)
        assert self.topic_arn is not None
        return SnsBus(self.client("sns"), self.topic_arn)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def _required(environ: Mapping[str, str], name: str, meaning: str) -> str:
    value = environ.get(name)
    if not value:
        raise ConfigError(f"{name} is not set: it must hold {meaning}")
    return value
