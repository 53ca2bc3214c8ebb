"""The SQLite state survives restarts and crashes: what was committed comes back, nothing is doubled."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from consumers.stores.ports import AccountKey, Decision, StreamKey
from consumers.stores.sqlite import SqliteState, StateLocked
from tests.conftest import spot_day_bars
from tests.unit.consumers.pipeline import Pipeline
from tests.unit.consumers.test_delivery_invariants import FlipFlop

BARS = spot_day_bars(limit=240)


def _pipeline(state: SqliteState) -> Pipeline:
    return Pipeline(FlipFlop({"qty": "0.5"}), bars=state.bars.memory, book=state.book)


def test_state_comes_back_after_a_clean_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    pipeline = _pipeline(state)
    pipeline.run_in_order(BARS[:120])
    state.bars.unsaved.extend(BARS[:120])  # the harness writes bars straight into memory
    before = state.book.accounts()
    state.close()

    reopened = SqliteState(path, Decimal(100_000))
    assert reopened.book.accounts() == before
    assert reopened.bars.window(StreamKey("binance", "BTC/USDT", "1m"), BARS[119].open_time_ms, 30) is not None
    reopened.close()


def test_a_crash_between_commits_resumes_to_the_same_result_as_an_uninterrupted_run(tmp_path: Path) -> None:
    uninterrupted = Pipeline(FlipFlop({"qty": "0.5"}))
    uninterrupted.run_in_order(BARS)

    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    first = _pipeline(state)
    first.run_in_order(BARS[:100])
    state.bars.unsaved.extend(BARS[:100])
    state.commit()
    first.run_in_order(BARS[100:170])  # applied in memory, never committed: lost in the crash
    state._connection.close()  # the process dies here
    state._lock_file.close()  # type: ignore[union-attr]

    resumed_state = SqliteState(path, Decimal(100_000))
    _pipeline(resumed_state).run_in_order(BARS)  # the whole replay is fed again; done bars decide nothing
    resumed_state.close()

    assert resumed_state.book.accounts() == uninterrupted.book.accounts()  # includes fill counts
    for order_id, fill in uninterrupted.outcome()["fills"].items():
        record = resumed_state.book.order(order_id)
        assert record is not None and record.settlement == fill


def test_a_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    with pytest.raises(StateLocked, match="in use by another stds process"):
        SqliteState(path, Decimal(100_000))
    state.close()
    SqliteState(path, Decimal(100_000)).close()


def test_kill_switch_set_by_another_connection_is_seen_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    operator = SqliteState(path, Decimal(100_000), lock=False)
    operator.kill_switch.engage("halt from the CLI")
    assert state.kill_switch.engaged() == "halt from the CLI"
    key = AccountKey("s", "binance", "BTC/USDT")
    assert state.book.decide(Decision(key, 0, Decimal(0), None))
    operator.close()
    state.close()
