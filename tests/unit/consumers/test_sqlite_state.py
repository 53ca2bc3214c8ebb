"""The SQLite state survives restarts and crashes: what was committed comes back, nothing is doubled."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.stores.ports import AccountKey, Decision, KillSwitchState
from consumers.stores.sqlite import (
    BARS_PER_INSERT,
    SCHEMA,
    KillSwitchReadPerCommit,
    SqliteKillSwitch,
    SqliteState,
    StateLocked,
    bar_json,
    being_written,
)
from events.models import BarClosed, OrderFilled
from events.streams import StreamKey
from tests.conftest import spot_day_bars
from tests.factories import order_requested
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


def test_kill_switch_set_by_another_connection_is_seen_after_the_next_commit(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    operator = SqliteState(path, Decimal(100_000), lock=False)
    assert state.kill_switch.engaged() is None
    engaged = KillSwitchState.new("reduce-only", "from the CLI")
    operator.kill_switch.engage(engaged)
    assert state.kill_switch.engaged() is None  # remembered until the running state commits
    state.commit()
    assert state.kill_switch.engaged() == engaged
    key = AccountKey("s", "binance", "BTC/USDT")
    assert state.book.decide(Decision(key, 0, Decimal(0), None))
    operator.close()
    state.close()


class CountedSqliteKillSwitch(SqliteKillSwitch):
    reads = 0

    def engaged(self) -> KillSwitchState | None:
        self.reads += 1
        return super().engaged()


def test_the_running_states_switch_reads_the_file_once_per_commit_and_after_each_own_write(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    SqliteState(path, Decimal(100_000)).close()
    file = CountedSqliteKillSwitch(sqlite3.connect(path, isolation_level=None))
    switch = KillSwitchReadPerCommit(file)
    operator = SqliteKillSwitch(sqlite3.connect(path, isolation_level=None))
    assert [switch.engaged() for _ in range(1_000)] == [None] * 1_000 and file.reads == 1

    flatten = KillSwitchState.new("flatten", "from the dashboard")
    operator.engage(flatten)
    assert switch.engaged() is None
    switch.forget()  # what a commit does
    assert switch.engaged() == switch.engaged() == flatten and file.reads == 2

    assert switch.settle_flatten(flatten, "flattened")
    halted = KillSwitchState("halt", "flattened", flatten.engagement)
    assert switch.engaged() == switch.engaged() == halted and file.reads == 3
    assert not switch.settle_flatten(flatten, "flattened again")  # once
    switch.release()
    assert switch.engaged() is None and operator.engaged() is None and file.reads == 4
    reduce_only = KillSwitchState.new("reduce-only", "in process")
    switch.engage(reduce_only)
    assert switch.engaged() == operator.engaged() == reduce_only and file.reads == 5


def test_a_switch_engaged_before_modes_existed_reads_as_halt(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    state.keep_setting("kill_switch", "exchange incident")  # how the switch was stored before it had modes
    assert state.kill_switch.engaged() == KillSwitchState("halt", "exchange incident", "")
    state.close()


def test_third_asset_fees_survive_a_restart_and_an_older_file_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path)  # an accounts table as written before fees in other assets were booked
    old.executescript(SCHEMA.replace("refused_target TEXT, fee_assets TEXT,", "refused_target TEXT,"))
    old.execute(
        "INSERT INTO accounts VALUES ('sma', 'binance', 'BTC/USDT', '99000', '0.05', '0', '1', '0.05', 5, 1, 0, NULL)"
    )
    old.commit()
    old.close()
    state = SqliteState(path, Decimal(100_000))
    key = AccountKey("sma", "binance", "BTC/USDT")
    assert state.book.account(key).fee_assets == {}
    order = order_requested(key, 60_000, "0.01", target="0.06")
    state.book.decide(Decision(key, 60_000, Decimal("0.06"), order))
    state.book.settle(OrderFilled(**order.identity(), price=Decimal(100), fee=Decimal(0), fee_other={"BNB": "0.001"}))
    state.close()
    reopened = SqliteState(path, Decimal(100_000))
    assert reopened.book.account(key).fee_assets == {"BNB": Decimal("0.001")}
    assert reopened.book.account(key).position == Decimal("0.06")
    reopened.close()


@settings(max_examples=200, deadline=None)
@given(
    bar=st.builds(
        BarClosed.trusted,
        exchange=st.text(max_size=12),
        symbol=st.text(max_size=12),
        timeframe=st.sampled_from(["1m", "1h"]),
        open_time_ms=st.integers(min_value=0, max_value=2**53),
        close_time_ms=st.integers(min_value=0, max_value=2**53),
        open=st.decimals(allow_nan=False, allow_infinity=False),
        high=st.decimals(allow_nan=False, allow_infinity=False),
        low=st.decimals(allow_nan=False, allow_infinity=False),
        close=st.decimals(allow_nan=False, allow_infinity=False),
        volume=st.decimals(allow_nan=False, allow_infinity=False),
        quote_volume=st.none() | st.decimals(allow_nan=False, allow_infinity=False),
        trades=st.none() | st.integers(min_value=0, max_value=10**9),
    )
)
def test_a_bar_is_stored_as_the_model_serialises_it(bar: BarClosed) -> None:
    assert bar_json(bar) == bar.model_dump_json()


def test_real_bars_are_stored_as_the_model_serialises_them() -> None:
    validated = spot_day_bars(limit=200)
    assert [bar_json(bar) for bar in validated] == [bar.model_dump_json() for bar in validated]


def test_every_bar_of_a_commit_is_stored_once_across_insert_chunks(tmp_path: Path) -> None:
    bars = spot_day_bars(limit=2 * BARS_PER_INSERT + 7)  # two full INSERTs and a short one
    state = SqliteState(tmp_path / "state.sqlite", Decimal(100_000))
    state.bars.unsaved.extend([*bars, bars[3]])  # a bar twice in one commit is stored once
    state.commit()
    state.bars.unsaved.extend(bars[:5])  # and a bar already stored stays as it was
    state.commit()
    rows = state._connection.execute("SELECT open_time_ms, bar FROM bars ORDER BY open_time_ms").fetchall()
    state.close()
    assert rows == [(bar.open_time_ms, bar.model_dump_json()) for bar in bars]


def test_a_state_is_being_written_while_a_process_holds_it_and_not_after(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path, Decimal(100_000))
    assert being_written(path)
    state.close()
    assert not being_written(path)  # closed: no pid left behind
    Path(f"{path}.lock").write_text("999999999")  # a holder that died without letting go
    assert not being_written(path)
