"""The `[sweep]` table of a strategies file: which line to sweep, its grid, and how to judge and split it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events.codec import describe_errors
from infra.config import ConfigError, StdsConfig, parse_config

OBJECTIVES = ("sharpe", "return", "pnl", "drawdown", "win_rate")


class SweepTable(BaseModel):
    """Everything `stds sweep` options can say, as a table; an option given on the command line wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str | None = Field(default=None, description="the [strategies] line to sweep; optional if only one")
    grid: dict[str, str | int | float | list[str | int | float]] = {}
    samples: int | None = Field(default=None, gt=0, description="random search: this many sets from the grid")
    sampler: Literal["grid", "optuna"] = "grid"
    trials: int | None = Field(default=None, gt=0, description="with sampler = optuna: trials of each study")
    round_size: int = Field(default=16, gt=0, description="with sampler = optuna: trials asked at a time")
    seed: int = 0
    objective: str = Field(default="sharpe", pattern="^(" + "|".join(OBJECTIVES) + ")$")
    walk_forward: str | None = Field(default=None, description="train=30d,test=7d[,step=7d]")


def load_sweep_file(path: Path) -> tuple[StdsConfig, SweepTable]:
    """The strategies file's configuration, and its `[sweep]` table (empty when it has none)."""
    import tomllib

    try:
        document: dict[str, Any] = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    table = document.pop("sweep", {})
    try:
        sweep = SweepTable.model_validate(table)
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_errors(error, 'sweep')}") from None
    return parse_config(document, str(path)), sweep
