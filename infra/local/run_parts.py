"""The typed parts a local run's options become at its entry point: what it trades with, where it keeps its
state, and where it writes. Each part goes only to the code that needs it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from events.dead_letters import DEAD_LETTERS_FILE
from infra.config import StdsConfig
from infra.strategy_loader import LoadedStrategy, load_strategies

STATE_FILE = "state.sqlite"  # a run's state in its output folder, unless --db names another


@dataclass(frozen=True)
class Trading:
    """What a run trades with: its configuration and the strategies it names, loaded."""

    config: StdsConfig
    specs: Sequence[LoadedStrategy]

    @classmethod
    def load(cls, config: StdsConfig, config_dir: Path) -> Trading:
        """`config_dir`: where the configuration's strategy files are found."""
        return cls(config, tuple(load_strategies(config, config_dir)))


@dataclass(frozen=True)
class StateFile:
    """Where a run keeps its state (":memory:" keeps none), and what becomes of an earlier run's state there:
    continued (`resume`), discarded (`fresh`), or, with neither, refused."""

    path: Path
    resume: bool
    fresh: bool

    @classmethod
    def of(cls, db: Path | None, folder: Path, *, resume: bool, fresh: bool) -> StateFile:
        """`db`, or the state file in the run's output `folder`."""
        return cls(db or folder / STATE_FILE, resume=resume, fresh=fresh)


@dataclass(frozen=True)
class RunOutput:
    """Where a run writes: its folder (report, dead letters, cursors), a recording of every routed event if
    asked, and whether the report draws its chart."""

    folder: Path
    record: Path | None
    chart: bool

    @property
    def dead_letters(self) -> Path:
        return self.folder / DEAD_LETTERS_FILE

    @property
    def cursors(self) -> Path:
        """Where a live run's streamer keeps how far each stream got."""
        return self.folder / "cursors.json"
