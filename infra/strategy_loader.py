"""Turns configured strategy lines into running strategy instances and the event patterns they subscribe with."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from consumers.strategies.base import InvalidLookback, Strategy
from consumers.strategies.builtin import BUILTIN
from consumers.strategies.informative import InformativeStream
from consumers.strategies.sizing import InvalidStake, Stake
from events.codec import describe_errors
from events.models import BarClosed
from infra.config import ConfigError, StdsConfig, StrategyLine


@dataclass(frozen=True)
class LoadedStrategy:
    """A strategy instance ready to subscribe: its sub-account name, code, and event pattern."""

    name: str
    strategy: Strategy
    pattern: dict[str, Any]
    stake: Stake | None = None
    informative: tuple[InformativeStream, ...] = ()  # read, never decided on
    informative_patterns: tuple[dict[str, Any], ...] = ()  # the same streams as patterns: what a runtime must make
    symbols: frozenset[str] | None = None  # the line's symbols (None: every one), for its bare informative timeframes

    def reads_informative(self, bar: BarClosed) -> bool:
        return any(stream.selects(bar, self.symbols) for stream in self.informative)


def retention_for(specs: Sequence[LoadedStrategy]) -> int:
    """Bars to keep per stream: the longest lookback, plus room for bars arriving out of order."""
    return max((spec.strategy.lookback for spec in specs), default=1) * 2 + 100


def load_strategies(config: StdsConfig, base_dir: Path) -> list[LoadedStrategy]:
    """`base_dir` resolves relative file paths in `use` (the configuration file's folder)."""
    return [_load_one(name, line, base_dir) for name, line in config.strategies.items()]


def load_strategy(config: StdsConfig, name: str, base_dir: Path) -> LoadedStrategy:
    """One configured strategy by its instance name (a Lambda runs exactly one)."""
    line = config.strategies.get(name)
    if line is None:
        known = ", ".join(sorted(config.strategies)) or "none"
        raise ConfigError(f"strategy {name!r} is not in the configuration (configured: {known})")
    return _load_one(name, line, base_dir)


def bar_pattern(line: StrategyLine) -> dict[str, Any]:
    """The EventBridge pattern a strategy line subscribes with; the same object becomes the CDK rule."""
    if line.pattern is not None:
        return line.pattern
    detail: dict[str, Any] = {"timeframe": [line.timeframe]}
    if line.symbols:
        detail["symbol"] = list(line.symbols)
    if line.exchanges:
        detail["exchange"] = list(line.exchanges)
    return {"detail-type": ["BarClosed"], "detail": detail}


def informative_patterns(line: StrategyLine) -> tuple[dict[str, Any], ...]:
    """The EventBridge patterns of a line's informative streams: bars it reads but never decides on."""
    patterns = []
    for stream in line.informative_streams():
        detail: dict[str, Any] = {"timeframe": [stream.timeframe]}
        symbols = [stream.symbol] if stream.symbol is not None else line.symbols
        if symbols:
            detail["symbol"] = list(symbols)
        if line.exchanges:
            detail["exchange"] = list(line.exchanges)
        patterns.append({"detail-type": ["BarClosed"], "detail": detail})
    return tuple(patterns)


def refuse_informative_on_aws(config: StdsConfig, origin: str) -> None:
    """The strategy functions do not read informative bars yet: refuse such a line rather than decide without them."""
    for name, line in config.strategies.items():
        if line.informative:
            raise ConfigError(
                f"{origin}: strategies.{name}: informative bars are not yet supported on AWS "
                f"(informative = {line.informative}): run this line with `stds replay` or `stds run`, "
                "or deploy it without them"
            )


def strategy_class(use: str, base_dir: Path) -> type[Strategy]:
    if use in BUILTIN:
        return BUILTIN[use]
    reference, _, class_name = use.partition(":")
    module = _import_file(base_dir / reference) if reference.endswith(".py") else _import_module(reference)
    candidates = [
        value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, Strategy)
        and value is not Strategy
        and value.__module__ == module.__name__
        and (not class_name or name == class_name)
    ]
    if len(candidates) != 1:
        found = ", ".join(c.__name__ for c in candidates) or "none"
        raise ConfigError(
            f"use = {use!r}: expected exactly one Strategy subclass in {module.__name__} (found {found}); "
            "name it with 'module:ClassName'"
        )
    return candidates[0]


def _load_one(name: str, line: StrategyLine, base_dir: Path) -> LoadedStrategy:
    cls = strategy_class(line.use, base_dir)
    stake = None
    params = line.params
    if line.stake is not None:
        try:
            stake = Stake.parse(line.stake)
        except InvalidStake as error:
            raise ConfigError(f"strategies.{name}: {error}") from None
        if "qty" in params:
            raise ConfigError(f"strategies.{name}: give stake or params.qty, not both (the stake sizes each entry)")
        params = {**params, "qty": 1}  # the strategy answers in stakes: 1 long, 0 flat, -1 short
    try:
        strategy = cls(params)
    except ValidationError as error:
        raise ConfigError(describe_errors(error, f"strategies.{name}.params")) from None
    except InvalidLookback as error:
        raise ConfigError(f"strategies.{name}.params: {error}") from None
    symbols = None if line.symbols is None else frozenset(line.symbols)
    return LoadedStrategy(
        name, strategy, bar_pattern(line), stake, line.informative_streams(), informative_patterns(line), symbols
    )


def _import_module(reference: str) -> ModuleType:
    try:
        return importlib.import_module(reference)
    except Exception as error:  # ImportError, or whatever the module raises while it loads
        known = ", ".join(sorted(BUILTIN))
        raise ConfigError(
            f"use = {reference!r}: not a built-in strategy ({known}) and not importable: {error}"
        ) from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"use = {str(path)!r}: no such strategy file")
    module_name = f"stds_user_strategies.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's file: whatever it raises is reported as where and what
        del sys.modules[module_name]
        raise ConfigError(f"use = {str(path)!r}: the strategy file failed to load: {_where(error, path)}") from None
    return module


def _where(error: Exception, path: Path) -> str:
    if isinstance(error, SyntaxError):
        return f"syntax error at {path}:{error.lineno}: {error.msg}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
    line = f" at {path}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{line}: {error}"
