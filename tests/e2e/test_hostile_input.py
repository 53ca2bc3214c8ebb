"""Hostile input at the command line: each case ends in one line naming what to fix, exit 2, and nothing
written (no state, no lock, no report)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from consumers.stores.sqlite import SqliteState
from infra.cli import main
from infra.cli.exchange import open_local_exchange
from tests.conftest import BTCUSDT_SPOT_DAY, REPO_ROOT, one_line_error, spot_day_bars
from tools.local_exchange.orders import SpotAccount
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

SMA = ["--strategy", "sma_cross", "--no-progress", "--no-chart"]
API_KEY = "hostile-test-key"
SECRET = "hostile-test-secret"


def exit_code(argv: list[str]) -> int:
    """What `stds ARGV` exits with, whether argparse refused it or the command returned."""
    try:
        return main(argv)
    except SystemExit as leaving:
        return int(leaving.code or 0)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert exit_code(argv) == 2
    return one_line_error(capsys, *needles)


def nothing_in(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("speed", ["nan", "-5", "1e-300", "inf", "0.0001", "1e10", "fast"])
@pytest.mark.parametrize("command", ["replay", "run", "exchange"])
def test_a_speed_that_is_no_speed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, speed: str
) -> None:
    argv = {
        "replay": ["replay", str(BTCUSDT_SPOT_DAY), *SMA, "--out", str(tmp_path / "out")],
        "run": ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--out", str(tmp_path / "out")],
        "exchange": ["exchange", str(BTCUSDT_SPOT_DAY)],
    }[command]
    refused(capsys, [*argv, f"--speed={speed}"], "--speed", "from 0.001 to 1e+09")
    assert nothing_in(tmp_path)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--duration", "nan", "seconds from 0.001 to 1e+09"),
        ("--duration", "-1", "seconds from 0.001 to 1e+09"),
        ("--silence", "0", "seconds from 0.001 to 1e+09"),
        ("--heartbeat", "inf", "seconds from 0.001 to 1e+09"),
        ("--faults", "nan", "a fault rate per message from 0 to 1"),
        ("--faults", "2", "a fault rate per message from 0 to 1"),
    ],
)
def test_times_and_rates_that_would_never_end_or_spin_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, says: str
) -> None:
    argv = ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--out", str(tmp_path / "out")]
    refused(capsys, [*argv, f"{option}={value}"], option, says)
    assert nothing_in(tmp_path)


@pytest.mark.parametrize("command", [["exchange", str(BTCUSDT_SPOT_DAY)], ["dashboard", "--db", "state.sqlite"]])
@pytest.mark.parametrize("value", ["-1", "65536", "99999", "http"])
def test_a_port_that_is_no_port_is_refused(capsys: pytest.CaptureFixture[str], command: list[str], value: str) -> None:
    refused(capsys, [*command, f"--port={value}"], "--port", "a port is from 0 to 65535")


def test_speed_zero_is_as_fast_as_possible_for_a_replay_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--speed", "0"], "--speed")
    assert main(["replay", str(BTCUSDT_SPOT_DAY), *SMA, "--out", str(tmp_path), "--speed", "0"]) == 0


def test_a_float_parameter_that_is_not_finite_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["replay", str(BTCUSDT_SPOT_DAY), "--strategy", "bollinger_reversion", "--param", "k=inf"]
    refused(capsys, [*argv, "--no-progress", "--out", str(tmp_path / "out")], "params.k: inf is not a finite number")
    assert nothing_in(tmp_path)


@pytest.mark.parametrize(
    ("params", "needles"),
    [
        (["slow=9223372036854775808"], ("sma_cross.params.slow", "beyond a 64-bit integer")),
        (["fast=10", "slow=" + "9" * 40], ("sma_cross.params.slow", "beyond a 64-bit integer")),
        (["slow=9223372036854775807"], ("lookback of 9223372036854775807 bars", "outside 1 to 1,000,000")),
    ],
)
def test_an_integer_parameter_too_large_for_any_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], params: list[str], needles: tuple[str, ...]
) -> None:
    given = [arg for param in params for arg in ("--param", param)]
    refused(capsys, ["replay", str(BTCUSDT_SPOT_DAY), *SMA, *given, "--out", str(tmp_path / "out")], *needles)
    assert nothing_in(tmp_path)


@pytest.mark.parametrize("period", ["-1", "-60"])
def test_a_lookback_of_no_bars_is_refused_since_the_strategy_would_never_trade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], period: str
) -> None:
    momentum = str(Path(__file__).parents[2] / "examples/strategies/momentum.py")
    argv = ["replay", str(BTCUSDT_SPOT_DAY), "--strategy", momentum, "--param", f"period={period}"]
    lookback = int(period) + 1
    refused(capsys, [*argv, "--out", str(tmp_path / "out")], f"lookback of {lookback} bars", "momentum.params")
    assert nothing_in(tmp_path)


def test_an_empty_freqtrade_file_is_refused_not_an_empty_backtest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "BTC_USDT-1m.json").write_bytes(b"")
    out = tmp_path / "out"
    refused(capsys, ["replay", str(data), *SMA, "--out", str(out)], "no bar could be read", str(data))
    assert nothing_in(out)


def test_a_freqtrade_file_nested_100000_deep_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "BTC_USDT-1m.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    out = tmp_path / "out"
    refused(capsys, ["replay", str(data), *SMA, "--out", str(out)], "no bar could be read", "1 refused")
    assert [path.name for path in out.iterdir()] == ["dead-letters.jsonl"]  # where the reason is, nothing else
    assert "nested far deeper than rows" in (out / "dead-letters.jsonl").read_text()


def test_a_strategies_file_that_is_not_utf8_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "strategies.toml"
    config.write_bytes(b'[strategies.sma]\nuse = "sma_cross"\n# caf\xe9 in Latin-1\n')
    argv = ["replay", str(BTCUSDT_SPOT_DAY), "--config", str(config), "--no-progress", "--out", str(tmp_path / "out")]
    refused(capsys, argv, f"{config}: not UTF-8 text (byte 40 is not)", "save it as UTF-8")
    assert not (tmp_path / "out").exists()


def test_a_key_file_that_is_not_utf8_is_refused_naming_it_and_quoting_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_bytes(b'{"apiKey": "secret-\xff-key", "secret": "s"}')
    keys.chmod(0o600)
    argv = ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--broker", "ccxt", "--key-file", str(keys)]
    line = refused(capsys, [*argv, "--out", str(tmp_path / "out")], "keys.json: not UTF-8 text", "save it as UTF-8")
    assert "secret-" not in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", [[], ["--fresh"], ["--resume"]])
def test_a_db_that_is_not_a_state_file_is_refused_and_left_as_it_was_with_no_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_bytes(BTCUSDT_SPOT_DAY.read_bytes())
    out = tmp_path / "out"
    argv = ["replay", str(bars), *SMA, "--db", str(bars), "--out", str(out), *flag]
    refused(capsys, argv, f"{bars} is not an stds state file", "point --db at OUT/state.sqlite")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bars.csv"]
    assert bars.read_bytes() == BTCUSDT_SPOT_DAY.read_bytes()


def test_a_live_run_on_a_db_that_is_not_a_state_file_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_bytes(BTCUSDT_SPOT_DAY.read_bytes())
    argv = ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--db", str(bars), "--out", str(tmp_path / "o")]
    refused(capsys, argv, f"{bars} is not an stds state file")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bars.csv"]


@pytest.fixture
def local_binance(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalBinance, str]]:
    """The local Binance in `tools/`, answering signed calls as Binance does (bad keys: -2015, -1022), and its
    account's keys in the environment, where stds reads them."""
    monkeypatch.setenv("STDS_EXCHANGE_API_KEY", API_KEY)
    monkeypatch.setenv("STDS_EXCHANGE_SECRET", SECRET)
    exchange = LocalBinance(Tape.of(spot_day_bars(limit=60)), speed=60, account=SpotAccount(API_KEY, SECRET))
    with exchange.serving_in_thread() as (_, rest_url):
        yield exchange, rest_url


BAD_KEYS = {  # what the local Binance answers, as Binance does
    "wrong key": ("not-the-key", SECRET, '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'),
    "wrong secret": (API_KEY, "not-the-secret", '{"code":-1022,"msg":"Signature for this request is not valid."}'),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_keys_the_exchange_refuses_end_a_ccxt_run_in_one_line_before_any_state(
    local_binance: tuple[LocalBinance, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    api_key, secret, answer = BAD_KEYS[case]
    exchange, rest_url = local_binance
    monkeypatch.setenv("STDS_EXCHANGE_API_KEY", api_key)
    monkeypatch.setenv("STDS_EXCHANGE_SECRET", secret)
    ws_url = rest_url.replace("http", "ws")
    argv = ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--ws-url", ws_url, "--rest-url", rest_url]
    argv += ["--broker", "ccxt", "--exchange-url", rest_url, "--out", str(tmp_path / "out")]
    line = refused(capsys, argv, f"the binance testnet at {rest_url} refused the keys: binance {answer}")
    assert "STDS_EXCHANGE_API_KEY" in line and "--key-file" in line
    assert api_key not in line and secret not in line
    assert nothing_in(tmp_path) and exchange.orders.orders == []


def no_signed_request_after(exchange: LocalBinance) -> Callable[[], bool]:
    """Each signed request takes one entry of the exchange's fault queue: entries still there were never asked."""
    exchange.orders.request_faults.extend([None] * 3)
    return lambda: len(exchange.orders.request_faults) == 3


def reconcile_argv(tmp_path: Path, rest_url: str, *broker: str) -> list[str]:
    config = tmp_path / "strategies.toml"
    config.write_text('[strategies]\nsma = { use = "sma_cross", symbols = ["BTC/USDT"] }\n')
    return ["reconcile", "--db", str(tmp_path / "state.sqlite"), "--config", str(config), *broker]


def test_reconcile_needs_an_explicit_broker_and_sends_no_keys_without_one(
    local_binance: tuple[LocalBinance, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exchange, rest_url = local_binance
    SqliteState(tmp_path / "state.sqlite", Decimal(100_000)).close()
    unasked = no_signed_request_after(exchange)
    before = sorted(path.name for path in tmp_path.iterdir())
    for broker in ([], ["--broker", "paper"]):
        argv = reconcile_argv(tmp_path, rest_url, *broker, "--exchange-url", rest_url)
        refused(capsys, argv, "give --broker ccxt")
    assert unasked()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*before, "strategies.toml"])


def test_reconcile_refuses_the_state_of_a_paper_run_against_an_exchange_account(
    local_binance: tuple[LocalBinance, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exchange, rest_url = local_binance
    argv = reconcile_argv(tmp_path, rest_url)
    paper_run = ["replay", str(BTCUSDT_SPOT_DAY), "--config", argv[4], "--no-progress", "--no-chart"]
    assert main([*paper_run, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    state = (tmp_path / "state.sqlite").read_bytes()
    unasked = no_signed_request_after(exchange)
    line = refused(capsys, [*argv, "--broker", "ccxt", "--exchange-url", rest_url], "holds a run on the paper broker")
    assert "not the binance testnet" in line and "--sandbox/--live" in line
    assert (tmp_path / "state.sqlite").read_bytes() == state
    assert main(["holdings", "--db", str(tmp_path / "state.sqlite")]) == 0
    assert capsys.readouterr().out.startswith("kill switch: released")
    assert unasked()


def test_an_unknown_aws_profile_is_one_line_saying_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))  # no profile of the machine's is used
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    refused(capsys, ["dlq", "list"], "AWS: The config profile (no-such-profile) could not be found", "AWS_PROFILE")


def test_rows_the_local_exchange_refuses_are_reported_with_their_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = BTCUSDT_SPOT_DAY.read_text().splitlines()[:30]
    lines[4] = lines[4].replace(lines[4].split(",")[1], "abc", 1)
    lines[8] = "garbage"
    day = tmp_path / BTCUSDT_SPOT_DAY.name
    day.write_text("\n".join(lines) + "\n")
    exchange = open_local_exchange([day], speed=60, fault_rate=0, seed=7)
    assert exchange.tape.count(["BTC/USDT"]) == 28
    assert capsys.readouterr().err.splitlines()[-3:] == [
        f"stds exchange: refused {day}:5: not a number: open 'abc'",
        f"stds exchange: refused {day}:9: expected 12 columns, found 1",
        "stds exchange: 2 refused rows are not served; the other bars are",
    ]


def test_a_local_exchange_with_no_bar_to_serve_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "BTC_USDT-1m.json").write_bytes(b"")
    refused(capsys, ["exchange", str(tmp_path), "--port", "0"], f"no bar could be read from {tmp_path}")


def live_argv(rest_url: str, out: Path) -> list[str]:
    """A real-money run as the user types it, its exchange being the local Binance (no real one is reachable)."""
    ws_url = rest_url.replace("http", "ws")
    strategy = ["--symbols", "BTC/USDT", "--strategy", "sma_cross", "--param", "qty=0.01"]
    exchange = ["--ws-url", ws_url, "--rest-url", rest_url, "--broker", "ccxt", "--live", "--exchange-url", rest_url]
    return ["run", *strategy, *exchange, "--out", str(out)]


def test_live_without_risk_limits_is_refused_naming_what_to_set(
    local_binance: tuple[LocalBinance, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exchange, rest_url = local_binance
    unasked = no_signed_request_after(exchange)
    line = refused(capsys, live_argv(rest_url, tmp_path / "out"), "--live needs risk limits", "sma_cross BTC/USDT")
    assert "--max-position and --max-order-notional" in line and "[risk] table" in line
    assert nothing_in(tmp_path) and unasked()


def test_live_without_a_terminal_or_yes_is_refused_after_showing_what_would_trade(
    local_binance: tuple[LocalBinance, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exchange, rest_url = local_binance
    argv = [*live_argv(rest_url, tmp_path / "out"), "--max-position", "0.05", "--max-order-notional", "1000"]
    assert exit_code(argv) == 2
    shown = capsys.readouterr().err.splitlines()
    assert shown[:2] == [
        "LIVE TRADING on binance with real money:",
        "  sma_cross            BTC/USDT     sma_cross qty 0.01, max order notional 1000, max position 0.05, "
        "shorts allowed",
    ]
    assert (
        shown[-1]
        == "stds: error: --live trades real money and asks first: run it on a terminal, or add --yes in scripts"
    )
    assert nothing_in(tmp_path) and exchange.orders.orders == []


def on_a_terminal(argv: list[str], answer: bytes, environ: dict[str, str]) -> tuple[int, str]:
    """`stds ARGV` in a pseudo-terminal, typing `answer` at its question; its exit code and what it showed."""
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "infra.cli", *argv]
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, env=environ)
    os.close(terminal)
    shown = read_until(controller, b"type yes to trade real money as shown: ")
    os.write(controller, answer)
    shown += read_until(controller, None)
    os.close(controller)
    return process.wait(timeout=120), shown.decode()


def read_until(controller: int, needle: bytes | None) -> bytes:
    """What the terminal shows until `needle` (None: until the program closes it); a hang fails, not blocks."""
    shown = b""
    while needle is None or needle not in shown:
        ready, _, _ = select.select([controller], [], [], 120)
        assert ready, f"the program showed nothing more for 120 s after {shown[-300:]!r}"
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the program ended and closed the terminal
            chunk = b""
        if not chunk:
            assert needle is None, f"the program ended before asking: {shown[-600:]!r}"
            break
        shown += chunk
    return shown


@pytest.mark.parametrize(("answer", "code"), [(b"no\n", 2), (b"yes\n", 0)])
def test_live_on_a_terminal_trades_only_once_yes_is_typed(
    local_binance: tuple[LocalBinance, str], tmp_path: Path, answer: bytes, code: int
) -> None:
    exchange, rest_url = local_binance
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}  # the exchange's keys included
    out = tmp_path / "out"
    argv = [*live_argv(rest_url, out), "--max-position", "0.05", "--max-order-notional", "1000", "--duration", "1"]
    exit_status, shown = on_a_terminal([*argv, "--no-print"], answer, environ)
    assert exit_status == code, shown
    assert "LIVE TRADING on binance with real money:" in shown
    if code == 2:
        assert shown.strip().splitlines()[-1] == "stds: error: --live not confirmed: nothing was started"
        assert nothing_in(tmp_path) and exchange.orders.orders == []
    else:
        assert (out / "state.sqlite").is_file() and (out / "summary.json").is_file()


def test_a_strategies_file_or_key_file_nested_100000_deep_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    argv = ["replay", str(BTCUSDT_SPOT_DAY), "--config", str(config), "--out", str(tmp_path / "out")]
    refused(capsys, argv, f"{config}: not a strategies file: arrays or tables nested too deep")
    keys = tmp_path / "keys.json"
    keys.write_text("[" * 100_000 + "]" * 100_000)
    keys.chmod(0o600)
    argv = ["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--broker", "ccxt", "--key-file", str(keys)]
    refused(capsys, [*argv, "--out", str(tmp_path / "out")], f"key file {keys} is not a JSON object")
    assert not (tmp_path / "out").exists()
