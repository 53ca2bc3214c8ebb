"""The user's configuration file (TOML), validated once at the edge: strategies, risk limits, paper broker."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from consumers.execution.risk import RiskLimits, RiskPolicy
from consumers.reconciliation.settings import ReconcileSettings
from consumers.stores.ports import AccountKey
from consumers.strategies.informative import InformativeStream
from events.codec import describe_errors
from events.timeframes import BAR_TIMEFRAMES

STRATEGY_NAME = r"^[a-z][a-z0-9_-]{0,47}$"
MAX_CASH = Decimal("1e15")
Table = TypeVar("Table", bound=BaseModel)


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which file and key, and how to fix it."""


class StrategyLine(BaseModel):
    """One line of `[strategies]`: which strategy code, on which bars, with which parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    use: str = Field(description="built-in name, 'package.module[:Class]' or 'path/to/file.py[:Class]'")
    symbols: list[str] | None = Field(default=None, description="ccxt symbols; omitted = every symbol")
    exchanges: list[str] | None = None
    timeframe: str = Field(default="1m", description="bar length: 1m, or 3m to 1d built from the minutes")
    params: dict[str, Any] = {}
    stake: str | None = Field(
        default=None,
        description="size in the quote ('1000 USDT') or a share of the sub-account's equity ('10%') instead of qty",
    )
    risk: RiskLimits | None = None
    pattern: dict[str, Any] | None = Field(
        default=None, description="an explicit EventBridge pattern, instead of symbols/exchanges/timeframe"
    )
    informative: list[str] = Field(
        default=[], description="further streams it reads, not decides on: '1h' (its own symbols), 'BTC/USDT@1d'"
    )

    @field_validator("timeframe")
    @classmethod
    def _a_bar_timeframe(cls, timeframe: str) -> str:
        if timeframe not in BAR_TIMEFRAMES:
            raise ValueError(f"unknown timeframe {timeframe!r} (one of {', '.join(BAR_TIMEFRAMES)})")
        return timeframe

    @field_validator("informative")
    @classmethod
    def _informative_streams(cls, informative: list[str]) -> list[str]:
        streams = [InformativeStream.parse(text) for text in informative]
        if len(set(streams)) != len(streams):
            raise ValueError(f"{informative}: a stream is named twice")
        return informative

    @model_validator(mode="after")
    def _informative_fits_the_line(self) -> StrategyLine:
        if not self.informative:
            return self
        if self.pattern is not None:
            raise ValueError("informative needs symbols/timeframe, not an explicit pattern: drop one of them")
        for stream in self.informative_streams():
            if stream.timeframe == self.timeframe and stream.symbol in (None, *(self.symbols or ())):
                raise ValueError(
                    f"informative {str(stream)!r} is the line's own timeframe {self.timeframe}: its bars are the window"
                )
        return self

    def informative_streams(self) -> tuple[InformativeStream, ...]:
        return tuple(InformativeStream.parse(text) for text in self.informative)


class PaperConfig(BaseModel):
    """The paper broker. Fees and slippage always cost (a negative fee would pay the trader), and stay
    under 10% so a fill can never be priced at or below zero."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fee_bps: Decimal = Field(default=Decimal(10), ge=0, le=1000)
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    starting_cash: Decimal = Field(default=Decimal(100_000), gt=0, le=MAX_CASH)


class BrokerConfig(BaseModel):
    """`[broker]`: where orders go. Paper by default; ccxt trades on the exchange's testnet unless `live`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["paper", "ccxt"] = "paper"
    exchange: str = Field(default="binance", pattern=r"^[a-z0-9]+$", description="ccxt exchange id")
    live: bool = Field(default=False, description="real money; false trades on the exchange's testnet (sandbox)")
    rest_url: str | None = Field(default=None, description="a Binance-compatible REST base instead of the exchange's")
    key_file: Path | None = Field(default=None, description='JSON {"apiKey", "secret"}, outside the repo, mode 600')
    reconcile: ReconcileSettings = ReconcileSettings()


class StdsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: dict[str, StrategyLine] = Field(min_length=1)
    risk: RiskLimits = RiskLimits()
    paper: PaperConfig = PaperConfig()
    broker: BrokerConfig = BrokerConfig()

    def risk_policy(self) -> RiskPolicy:
        overrides = {name: spec.risk for name, spec in self.strategies.items() if spec.risk is not None}
        return RiskPolicy(default=self.risk, overrides=overrides)

    def named_symbols(self) -> list[str]:
        """The symbols the strategy lines name, sorted (a line without `symbols` names none)."""
        return sorted({symbol for line in self.strategies.values() for symbol in line.symbols or ()})

    def sub_accounts(self, exchange: str, symbols: Iterable[str]) -> list[AccountKey]:
        """Every (strategy, symbol) a run trades: the book counts their starting cash before their first order."""
        streamed = list(symbols)
        return [
            AccountKey(name, exchange, symbol)
            for name, line in self.strategies.items()
            for symbol in streamed
            if line.symbols is None or symbol in line.symbols
        ]


def load_config(path: Path) -> StdsConfig:
    import tomllib  # only a --config file needs the TOML parser; `--strategy` runs skip its import

    try:
        document = tomllib.loads(utf8_text(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (see strategies.example.toml)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a strategies file: arrays or tables nested too deep to read") from None
    return parse_config(document, str(path))


def utf8_text(path: Path) -> str:
    """A file the user wrote (a strategies file, a key file), refused naming it if it is not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start} is not): save it as UTF-8") from None


def parse_config(document: dict[str, Any], origin: str = "configuration") -> StdsConfig:
    try:
        config = StdsConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(f"{origin}: {describe_errors(error)}") from None
    for name in config.strategies:
        if not re.match(STRATEGY_NAME, name):
            raise ConfigError(
                f"{origin}: strategies.{name}: names are lower-case letters, digits, '_' or '-', "
                "starting with a letter (they become sub-account, function and rule names)"
            )
    return config


def table_from_options(table: type[Table], values: dict[str, Any], origin: str) -> Table:
    """A table of the file (`[paper]`, `[risk]`) with command-line options over it, checked like the file."""
    try:
        return table.model_validate(values)
    except ValidationError as error:
        raise ConfigError(f"{origin}: {describe_errors(error)}") from None
