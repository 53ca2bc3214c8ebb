"""The stores a runtime needs, in memory (tests, benchmarks) or in one SQLite file (the default)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from consumers.stores.memory import (
    MemoryBarStore,
    MemoryBook,
    MemoryKillSwitch,
    MemoryProcessedIds,
    MemoryReconciliationLog,
)
from consumers.stores.ports import Stores
from consumers.stores.sqlite import SqliteState, StateFileError, open_existing, state_exists
from infra.config import StdsConfig
from infra.local.run_parts import StateFile, Trading
from infra.strategy_loader import LoadedStrategy, retention_for

IN_MEMORY = ":memory:"
CONFIGURATION = "configuration"  # the control row holding the configuration a state file was started with


def memory_stores(starting_cash: Decimal, retention_bars: int) -> Stores:
    book = MemoryBook(starting_cash)
    return Stores(
        bars=MemoryBarStore(retention_bars),
        book=book,
        processed=MemoryProcessedIds(),
        kill_switch=MemoryKillSwitch(),
        commit=lambda: None,
        close=lambda: None,
        reconciliations=MemoryReconciliationLog(),
    )


def sqlite_stores(path: Path, starting_cash: Decimal, retention_bars: int, *, fresh: bool = False) -> Stores:
    """`fresh` discards what the file held, once its lock is taken (never another process's state)."""
    return stores_of(SqliteState(path, starting_cash, retention_bars, fresh=fresh))


def stores_of(state: SqliteState) -> Stores:
    return Stores(
        bars=state.bars,
        book=state.book,
        processed=state.processed,
        kill_switch=state.kill_switch,
        commit=state.commit,
        close=state.close,
        reconciliations=state.reconciliations,
    )


def run_stores(state_file: StateFile, trading: Trading) -> Stores:
    """The stores of one `stds replay`/`stds run` in `state_file`.

    An earlier run's state is continued (`resume`) or discarded (`fresh`) only when asked, and only
    once the file's lock is taken; a run is never continued under another configuration, since its
    holdings and cursors would then mix two strategies' decisions.
    """
    db, config = state_file.path, trading.config
    cash, retention_bars = config.paper.starting_cash, retention_for(trading.specs)
    if str(db) == IN_MEMORY:
        return memory_stores(cash, retention_bars)
    if state_exists(db) and not (state_file.resume or state_file.fresh):
        open_existing(db).close()  # a file that is not a state (a CSV given as --db) is refused as that
        raise StateFileError(
            f"{db} holds the state of an earlier run: pass --resume to continue it, or --fresh to discard it "
            "and start over"
        )
    state = SqliteState(db, cash, retention_bars, fresh=state_file.fresh)
    current = orjson.dumps(_configuration(config, trading.specs), option=orjson.OPT_SORT_KEYS).decode()
    recorded = state.setting(CONFIGURATION)
    if recorded is None:
        state.keep_setting(CONFIGURATION, current)
    elif recorded != current:
        state.close()
        changed = ", ".join(_differences(orjson.loads(recorded), orjson.loads(current))[:4])
        raise StateFileError(
            f"{db} was started with another configuration ({changed}): continuing it would mix the two; "
            "run with the same configuration, another --out, or --fresh to discard its state"
        )
    return stores_of(state)


def _configuration(config: StdsConfig, specs: Sequence[LoadedStrategy]) -> dict[str, Any]:
    """What decides a run's trades, with every default filled in (`fast=10` given or not is the same)."""
    return {
        "strategies": {
            spec.name: {
                "use": config.strategies[spec.name].use,
                "params": spec.strategy.params.model_dump(mode="json"),
                "pattern": spec.pattern,
            }
            for spec in specs
        },
        "risk": config.risk_policy().model_dump(mode="json"),
        "paper": config.paper.model_dump(mode="json"),
        "broker": _account_of(config),
    }


def _account_of(config: StdsConfig) -> dict[str, Any]:
    """Where orders go: a paper book continued on an exchange account (or back), or a testnet book on the
    real account, would not match it."""
    return config.broker.model_dump(mode="json", include={"kind", "exchange", "live"})


def reconcile_stores(db: Path, config: StdsConfig) -> Stores:
    """The stores of a run's state file, to compare with the exchange account `config` names: refused,
    before anything is written, if the run traded elsewhere (a paper run's book against a real account)."""
    state = SqliteState(db, config.paper.starting_cash, 1)
    recorded = state.setting(CONFIGURATION)
    traded = orjson.loads(recorded).get("broker") if recorded else None
    wanted = _account_of(config)
    if traded is not None and traded != wanted:
        state.close()
        raise StateFileError(
            f"{db} holds a run on {_described(traded)}, not {_described(wanted)}: reconcile it with the account "
            "it traded on (the run's --broker and --sandbox/--live)"
        )
    return stores_of(state)


def _described(account: dict[str, Any]) -> str:
    if account["kind"] == "paper":
        return "the paper broker"
    return f"the {account['exchange']} {'live account (real money)' if account['live'] else 'testnet'}"


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            change
            for key in sorted(set(before) | set(after))
            for change in _differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        ]
    return [] if before == after else [f"{path or 'configuration'}: {before!r} → {after!r}"]
