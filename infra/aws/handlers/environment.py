"""What a handler reads from its Lambda environment: one pydantic model, the only reader of `os.environ` for the
handlers, validated once at init with errors that name the variable and what to set.

| variable | set by | meaning |
|---|---|---|
| `AWS_LAMBDA_FUNCTION_NAME` | Lambda | present on Lambda: the handler module builds its app during init |
| `LAMBDA_TASK_ROOT` | Lambda | the function's code folder, where `strategies.toml` is bundled |
| `STDS_XRAY_SDK` | operator | strategy functions: `true` for X-Ray subsegments per AWS call (about 95 ms of init) |
| `STDS_STRATEGY` | stack | strategy functions: the instance name in the strategies file |
| `STDS_CONFIG` | stack | the strategies TOML bundled with the function (default `strategies.toml` in the task root) |
| `STDS_TABLE_PREFIX` | stack | DynamoDB tables are `<prefix>subaccounts`, `<prefix>orders`, … |
| `STDS_EVENT_BUS` / `STDS_SNS_TOPIC_ARN` | stack | where emitted events go (exactly one of them) |
| `STDS_BAR_BUCKET` | stack | strategy functions: the S3 bucket the streamer keeps bars in (events/bar_archive.py) |
| `STDS_BROKER` | stack | execution and reconciliation: `paper` (the stack's) or `ccxt` |
| `STDS_EXCHANGE_SECRET_ID` | stack | ccxt broker: Secrets Manager id of `{"apiKey", "secret"}` |
| `STDS_EXCHANGE_API_KEY` / `STDS_EXCHANGE_SECRET` | operator | ccxt broker without a secret id: the keys themselves |
| `STDS_EXCHANGE` | operator | ccxt broker: the ccxt exchange id (default `binance`) |
| `STDS_EXCHANGE_SANDBOX` | operator | ccxt broker: `true` for the exchange's testnet |
| `STDS_EXCHANGE_REST_URL` | operator | ccxt broker: a Binance-compatible REST base instead of the exchange's |

An empty variable counts as unset. boto3 reads its own endpoint overrides (`AWS_ENDPOINT_URL_DYNAMODB`,
`AWS_ENDPOINT_URL_EVENTS`, …), which is how the tests point handlers at DynamoDB Local and moto.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import botocore.session
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from consumers.stores.dynamodb import TableNames
from consumers.stores.ports import BarStore, Stores
from events.bus import Bus
from events.eventbridge_bus import EventBridgeBus
from events.sns_bus import SnsBus
from infra.config import ConfigError, StdsConfig, load_config

if TYPE_CHECKING:
    from consumers.execution.broker import Broker


class ProcessSettings(BaseModel):
    """The variables a handler module reads when it is imported, before its function's own are needed (tests
    import every handler in one process)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    function_name: str | None = Field(None, alias="AWS_LAMBDA_FUNCTION_NAME", description="the Lambda function")
    task_root: Path = Field(Path("."), alias="LAMBDA_TASK_ROOT", description="the function's code folder")
    xray_sdk: bool = Field(False, alias="STDS_XRAY_SDK", description="true or false")
    strategy: str | None = Field(None, alias="STDS_STRATEGY", description="the strategy instance name in STDS_CONFIG")

    @classmethod
    def read(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """The model's own variables, and only those, from `environ`; `ConfigError` names a wrong one."""
        given = {name: environ[name] for name in variables(cls) if environ.get(name)}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise ConfigError("; ".join(_explain(problem, cls) for problem in error.errors())) from None

    @property
    def on_lambda(self) -> bool:
        return self.function_name is not None

    def required_strategy(self) -> str:
        return _required("STDS_STRATEGY", self.strategy, type(self))


class HandlerSettings(ProcessSettings):
    """Every variable of the table above; read when a function builds its app."""

    config_path: Path | None = Field(None, alias="STDS_CONFIG", description="the path of the strategies TOML")
    table_prefix: str = Field(alias="STDS_TABLE_PREFIX", description="the DynamoDB table name prefix, e.g. stds-prod-")
    event_bus: str | None = Field(None, alias="STDS_EVENT_BUS", description="the EventBridge bus name")
    topic_arn: str | None = Field(None, alias="STDS_SNS_TOPIC_ARN", description="the SNS topic's ARN")
    bar_bucket: str | None = Field(
        None, alias="STDS_BAR_BUCKET", description="the S3 bucket the streamer keeps bars in"
    )
    broker: Literal["paper", "ccxt"] = Field("paper", alias="STDS_BROKER", description="paper or ccxt")
    exchange_secret_id: str | None = Field(
        None, alias="STDS_EXCHANGE_SECRET_ID", description='the Secrets Manager id of {"apiKey", "secret"}'
    )
    exchange_api_key: SecretStr | None = Field(None, alias="STDS_EXCHANGE_API_KEY", description="the exchange key")
    exchange_secret: SecretStr | None = Field(None, alias="STDS_EXCHANGE_SECRET", description="the exchange secret")
    exchange: str = Field("binance", alias="STDS_EXCHANGE", description="a ccxt exchange id")
    exchange_sandbox: bool = Field(False, alias="STDS_EXCHANGE_SANDBOX", description="true or false")
    exchange_rest_url: str | None = Field(None, alias="STDS_EXCHANGE_REST_URL", description="a REST base URL")

    @classmethod
    def read(cls, environ: Mapping[str, str] = os.environ) -> Self:
        settings = super().read(environ)
        if (settings.event_bus is None) == (settings.topic_arn is None):
            raise ConfigError("set exactly one of STDS_EVENT_BUS (EventBridge bus name) or STDS_SNS_TOPIC_ARN")
        return settings

    @property
    def strategies_file(self) -> Path:
        return self.config_path or self.task_root / "strategies.toml"

    def required_bar_bucket(self) -> str:
        return _required("STDS_BAR_BUCKET", self.bar_bucket, type(self))


def variables(model: type[ProcessSettings] = HandlerSettings) -> set[str]:
    """The environment variables `model` reads."""
    return {str(field.alias) for field in model.model_fields.values()}


def _meaning(variable: str, model: type[ProcessSettings]) -> str:
    return next(str(field.description) for field in model.model_fields.values() if field.alias == variable)


def _explain(problem: Any, model: type[ProcessSettings]) -> str:
    variable = str(problem["loc"][0])
    if problem["type"] == "missing":
        return f"{variable} is not set: it must hold {_meaning(variable, model)}"
    return f"{variable}={problem['input']!r}: {problem['msg']}; it must hold {_meaning(variable, model)}"


def _required(variable: str, value: str | None, model: type[ProcessSettings]) -> str:
    if not value:
        raise ConfigError(f"{variable} is not set: it must hold {_meaning(variable, model)}")
    return value


@dataclass(frozen=True)
class HandlerEnvironment:
    """The settings with what they name: the loaded strategies file, the AWS clients, the stores and bus."""

    settings: HandlerSettings
    config: StdsConfig

    @classmethod
    def read(cls, environ: Mapping[str, str] = os.environ) -> HandlerEnvironment:
        settings = HandlerSettings.read(environ)
        return cls(settings, load_config(settings.strategies_file))

    @property
    def config_dir(self) -> Path:
        return self.settings.strategies_file.parent

    def client(self, service: str) -> Any:
        """A botocore client (what boto3 returns, without boto3's import: ~35 ms less cold start)."""
        return _session().create_client(service)

    def stores(self, bars: BarStore | None = None) -> Stores:
        from infra.aws.stores import dynamodb_stores

        names = TableNames.with_prefix(self.settings.table_prefix)
        return dynamodb_stores(self.client("dynamodb"), names, self.config.paper.starting_cash, bars)

    def bus(self) -> Bus:
        if self.settings.event_bus is not None:
            return EventBridgeBus(self.client("events"), self.settings.event_bus)
        assert self.settings.topic_arn is not None
        return SnsBus(self.client("sns"), self.settings.topic_arn)

    def broker(self) -> Broker:
        settings = self.settings
        if settings.broker == "paper":
            from consumers.execution.paper import PaperBroker

            return PaperBroker(self.config.paper.fee_bps, self.config.paper.slippage_bps)
        # imported here only: ccxt costs the strategy functions nothing, and paper execution nothing either
        from consumers.execution.ccxt_broker import (
            API_KEY_VARIABLE,
            SECRET_VARIABLE,
            CcxtBroker,
            credentials_from_environment,
            credentials_from_secrets_manager,
        )

        if settings.exchange_secret_id:
            credentials = credentials_from_secrets_manager(settings.exchange_secret_id, self.client("secretsmanager"))
        else:
            keys = {API_KEY_VARIABLE: settings.exchange_api_key, SECRET_VARIABLE: settings.exchange_secret}
            credentials = credentials_from_environment(
                {name: key.get_secret_value() for name, key in keys.items() if key}
            )
        return CcxtBroker(
            settings.exchange, credentials, sandbox=settings.exchange_sandbox, rest_url=settings.exchange_rest_url
        )


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()
