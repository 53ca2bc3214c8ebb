"""The state file and the command line against careless use: nothing deletes another run's state, no
run mixes two configurations, the kill switch always works, and every user error is one line, exit 2."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from consumers.stores.ports import AccountKey, Decision
from consumers.stores.sqlite import SqliteState
from infra.cli import main
from tests.conftest import BTCUSDT_SPOT_DAY, one_line_error
from tests.factories import filled, order_requested

SMA = ["--strategy", "sma_cross", "--no-progress", "--no-chart"]


def _replay(out: Path, *extra: str, path: Path = BTCUSDT_SPOT_DAY) -> int:
    return main(["replay", str(path), *SMA, "--out", str(out), *extra])


def test_a_second_run_never_deletes_the_state_of_a_running_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    running = SqliteState(out / "state.sqlite", Decimal(100_000))  # holds the lock, as a live run does
    key = AccountKey("sma_cross", "binance", "BTC/USDT")
    order = order_requested(key, 1_674_259_200_000, "1")
    assert running.book.decide(Decision(key, order.bar_open_time_ms, order.target, order))
    running.commit()
    for flags in ([], ["--fresh"], ["--resume"]):
        assert _replay(out, *flags) == 2
        one_line_error(capsys, "state.sqlite")
    assert (out / "state.sqlite").exists() and (out / "state.sqlite-wal").exists()
    running.book.settle(filled(order))  # the running process goes on writing to the same file
    running.close()
    reopened = SqliteState(out / "state.sqlite", Decimal(100_000))
    assert reopened.book.account(key).position == Decimal(1)
    reopened.close()


def test_an_earlier_run_is_continued_or_discarded_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert _replay(out) == 0
    trades = (out / "trades.csv").read_text()
    assert _replay(out) == 2
    one_line_error(capsys, "holds the state of an earlier run", "--resume", "--fresh")
    assert _replay(out, "--resume") == 0
    assert _replay(out, "--param", "fast=10", "--resume") == 0  # the defaults spelled out: the same run
    assert _replay(out, "--param", "fast=5", "--resume") == 2
    one_line_error(capsys, "another configuration", "fast: 10 → 5")
    assert _replay(out, "--param", "fast=5", "--fresh") == 0
    assert (out / "trades.csv").read_text() != trades


def test_dead_letters_and_recordings_hold_each_input_once_across_resumes(tmp_path: Path) -> None:
    rows = BTCUSDT_SPOT_DAY.read_text().splitlines()[:200]
    rows[50] = rows[50].replace(",", ";", 1)
    bars = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    bars.write_text("\n".join(rows) + "\n")
    out, recording = tmp_path / "run", tmp_path / "events.jsonl"
    assert _replay(out, "--record", str(recording), path=bars) == 0
    recorded = recording.read_bytes()
    assert _replay(out, "--record", str(recording), "--resume", path=bars) == 0
    assert _replay(out, "--record", str(recording), "--fresh", path=bars) == 0
    assert len((out / "dead-letters.jsonl").read_text().splitlines()) == 1
    assert recording.read_bytes().count(b'"BarClosed"') == recorded.count(b'"BarClosed"') == 199
    assert _replay(tmp_path / "again", path=recording) == 0
    assert not (tmp_path / "again" / "dead-letters.jsonl").exists()


def test_the_kill_switch_works_whatever_else_the_state_file_holds(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _replay(out) == 0
    db = out / "state.sqlite"
    with sqlite3.connect(db) as connection:  # an order no model accepts (an older version could write it)
        request = orjson.loads(connection.execute("SELECT request FROM orders LIMIT 1").fetchone()[0])
        connection.execute(
            "UPDATE orders SET request = ? WHERE order_id = ?",
            (orjson.dumps({**request, "qty": "Infinity"}).decode(), request["order_id"]),
        )
    assert main(["halt", "--db", str(db), "--reason", "drill"]) == 0
    assert main(["holdings", "--db", str(db)]) == 0
    assert main(["resume", "--db", str(db)]) == 0


def test_halt_refuses_a_database_that_is_not_a_state_file_and_leaves_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
    for command in (["halt", "--db", str(other)], ["resume", "--db", str(other)], ["holdings", "--db", str(other)]):
        assert main(command) == 2
        one_line_error(capsys, "not an stds state file")
    with sqlite3.connect(other) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"users"}
    assert main(["halt", "--db", str(BTCUSDT_SPOT_DAY)]) == 2
    assert main(["halt", "--db", str(tmp_path / "absent.sqlite")]) == 2
    assert not (tmp_path / "absent.sqlite").exists()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--cash", "abc"], "--cash: 'abc' is not a number"),
        (["--cash", "-5"], "starting_cash: Input should be greater than 0"),
        (["--fee-bps", "-1"], "fee_bps: Input should be greater than or equal to 0"),
        (["--slippage-bps", "10000"], "slippage_bps: Input should be less than or equal to 1000"),
        (["--param", "qty=-1"], "strategies.sma_cross.params.qty: Input should be greater than 0"),
        (["--param", "qty=NaN"], "strategies.sma_cross.params.qty"),
    ],
)
def test_out_of_range_options_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) if "abc" in flags else contextlib.nullcontext():  # argparse exits 2 itself
        assert _replay(tmp_path / "run", *flags) == 2
    one_line_error(capsys, said)
    assert not (tmp_path / "run" / "state.sqlite").exists()


def test_risk_limits_in_the_file_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text('[strategies]\nsma = { use = "sma_cross" }\n[risk]\nmax_position = -1\n')
    assert main(["replay", str(BTCUSDT_SPOT_DAY), "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "risk.max_position: Input should be greater than or equal to 0")


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("import not_a_module_anywhere\n", "ModuleNotFoundError at"),
        ("def target(:\n", "syntax error at"),
        ("raise RuntimeError('boom')\n", "RuntimeError at"),
    ],
)
def test_a_strategy_file_that_fails_to_load_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, said: str
) -> None:
    module = tmp_path / "mine.py"
    module.write_text(source)
    assert main(["replay", str(BTCUSDT_SPOT_DAY), "--strategy", str(module), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, f"{module}", said)


def test_an_out_folder_that_cannot_be_written_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _replay(blocker / "out") == 2
    one_line_error(capsys, "a-file")


def test_a_recording_cannot_be_recorded_over_while_it_is_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "events.jsonl"
    assert _replay(tmp_path / "first", "--record", str(recording)) == 0
    before = recording.read_bytes()
    assert _replay(tmp_path / "second", "--record", str(recording), path=recording) == 2
    one_line_error(capsys, "is also replayed")
    assert recording.read_bytes() == before


def test_a_full_disk_is_named_as_such_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)]
    mounted = subprocess.run(mount, check=False, capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"a full disk is simulated with a 300 KB tmpfs, which needs root: {mounted.stderr.decode()}")
    try:
        assert _replay(disk / "out") == 2
        one_line_error(capsys, "database or disk is full", "--resume")
    finally:
        subprocess.run(["umount", str(disk)], check=True)
