"""The safety rails of `stds run --broker ccxt`: testnet by default, live only when asked and shown, keys
only from the environment or an owner-only file outside the repo, every refusal one line and exit 2."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

import pytest

from consumers.execution.ccxt_broker import CcxtBroker, Credentials, MissingCredentials, RetryPolicy
from consumers.execution.risk import RiskLimits
from infra.cli import main
from infra.config import BrokerConfig, ConfigError, StdsConfig, StrategyLine, parse_config
from infra.local.exchange_keys import load_credentials
from infra.local.trading import UnsafeToTrade, ccxt_broker, check_keys, check_live, confirm_live, live_banner
from infra.strategy_loader import load_strategies
from tests.conftest import REPO_ROOT

KEYS = {"apiKey": "a-key-for-tests", "secret": "a-secret-for-tests"}


def key_file(folder: Path, mode: int) -> Path:
    path = folder / "binance.json"
    path.write_text(json.dumps(KEYS))
    path.chmod(mode)
    return path


def test_an_owner_only_key_file_outside_the_repo_is_read(tmp_path: Path) -> None:
    assert load_credentials(key_file(tmp_path, 0o600), {}) == Credentials(KEYS["apiKey"], KEYS["secret"])


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused_without_quoting_it(tmp_path: Path, mode: int) -> None:
    with pytest.raises(MissingCredentials, match=r"readable by others.*chmod 600") as refused:
        load_credentials(key_file(tmp_path, mode), {})
    assert KEYS["secret"] not in str(refused.value)


def test_a_key_file_inside_the_repo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentials, match="inside the repository"):
        load_credentials(key_file(tmp_path, 0o600), {}, repo_root=tmp_path)
    with pytest.raises(MissingCredentials, match="inside the repository"):
        load_credentials(REPO_ROOT / "keys.json", {})  # refused before it is even looked for


def test_keys_come_from_the_environment_without_a_file() -> None:
    environ = {"STDS_EXCHANGE_API_KEY": "k", "STDS_EXCHANGE_SECRET": "s"}
    assert load_credentials(None, environ) == Credentials("k", "s")
    with pytest.raises(MissingCredentials, match=r"STDS_EXCHANGE_API_KEY.*--key-file"):
        load_credentials(None, {})


def test_testnet_unless_live() -> None:
    credentials = Credentials("k", "s")
    assert ccxt_broker(BrokerConfig(kind="ccxt"), credentials, None).exchange.isSandboxModeEnabled
    assert not ccxt_broker(BrokerConfig(kind="ccxt", live=True), credentials, None).exchange.isSandboxModeEnabled


def config(**broker: object) -> StdsConfig:
    lines = {"sma": StrategyLine(use="sma_cross", symbols=["BTC/USDT"]), "all": StrategyLine(use="sma_cross")}
    risk = {"max_order_notional": "500", "max_position": "2"}
    return StdsConfig(strategies=lines, risk=risk, broker=BrokerConfig(**broker))


def test_live_is_refused_when_it_cannot_be_what_was_meant() -> None:
    with pytest.raises(UnsafeToTrade, match="--broker ccxt"):
        check_live(config(live=True), ["BTC/USDT"], local_exchange=False)
    with pytest.raises(UnsafeToTrade, match="contradict"):
        check_live(config(kind="ccxt", live=True), ["BTC/USDT"], local_exchange=True)
    check_live(config(kind="ccxt", live=True), ["BTC/USDT"], local_exchange=False)


def test_the_live_banner_names_every_strategy_symbol_size_and_limit() -> None:
    live = config(kind="ccxt", live=True)
    live = live.model_copy(update={"strategies": {**live.strategies, "sma": StrategyLine(
        use="sma_cross", symbols=["BTC/USDT"], params={"qty": "0.25"}, risk={"max_position": "0.5"})}})  # fmt: skip
    banner = live_banner(live, load_strategies(live, REPO_ROOT), "binance", ["BTC/USDT", "ETH/USDT"])
    assert banner.splitlines()[:4] == [
        "LIVE TRADING on binance with real money:",
        "  sma                  BTC/USDT     sma_cross qty 0.25, max order notional none, max position 0.5, "
        "shorts allowed",
        "  all                  BTC/USDT     sma_cross qty 1, max order notional 500, max position 2, shorts allowed",
        "  all                  ETH/USDT     sma_cross qty 1, max order notional 500, max position 2, shorts allowed",
    ]


def test_live_is_refused_without_both_risk_limits_for_every_sub_account() -> None:
    unlimited = config(kind="ccxt", live=True).model_copy(update={"risk": RiskLimits(max_position=Decimal(1))})
    with pytest.raises(UnsafeToTrade, match="missing for sma BTC/USDT, all BTC/USDT: give --max-position") as refused:
        check_live(unlimited, ["BTC/USDT"], local_exchange=False)
    assert "max_position and max_order_notional in the strategies file's [risk] table" in str(refused.value)


def test_live_asks_on_a_terminal_and_refuses_without_one_unless_yes() -> None:
    asked: list[str] = []
    confirm_live(yes=False, on_terminal=True, ask=lambda prompt: asked.append(prompt) or " YES\n")
    assert asked == ["type yes to trade real money as shown: "]
    with pytest.raises(UnsafeToTrade, match="not confirmed: nothing was started"):
        confirm_live(yes=False, on_terminal=True, ask=lambda prompt: "y")
    with pytest.raises(UnsafeToTrade, match="run it on a terminal, or add --yes in scripts"):
        confirm_live(yes=False, on_terminal=False, ask=lambda prompt: "yes")
    confirm_live(yes=True, on_terminal=False, ask=lambda prompt: pytest.fail("--yes asks nothing"))

    def closed(prompt: str) -> str:
        raise EOFError

    with pytest.raises(UnsafeToTrade, match="not confirmed"):
        confirm_live(yes=False, on_terminal=True, ask=closed)


def test_the_broker_table_is_validated_naming_the_key() -> None:
    document = {"strategies": {"sma": {"use": "sma_cross"}}, "broker": {"kind": "ccxt", "reconcile": {"every_min": 0}}}
    with pytest.raises(ConfigError, match=r"broker\.reconcile\.every_min"):
        parse_config(document, "strategies.toml")
    with pytest.raises(ConfigError, match=r"broker\.kind"):
        parse_config({"strategies": {"sma": {"use": "sma_cross"}}, "broker": {"kind": "kraken"}}, "strategies.toml")
    parsed = parse_config({**document, "broker": {"kind": "ccxt", "reconcile": {"baseline": {"BNB": "0.5"}}}})
    assert str(parsed.broker.reconcile.baseline["BNB"]) == "0.5"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--live"], "--live needs risk limits"),
        (
            ["--live", "--max-position", "1", "--max-order-notional", "100"],
            "no exchange keys: set STDS_EXCHANGE_API_KEY",
        ),
        (["--live", "--local-exchange", "x.csv"], "contradict each other"),
        (["--key-file", "/nonexistent/keys.json"], "no such key file"),
    ],
)
def test_stds_run_refuses_in_one_line_and_exit_2(
    extra: list[str], says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STDS_EXCHANGE_API_KEY", raising=False)
    code = main(["run", "--symbols", "BTC/USDT", "--strategy", "sma_cross", "--broker", "ccxt", *extra])
    error = capsys.readouterr().err
    assert code == 2 and len(error.splitlines()) == 1 and says in error


def test_an_exchange_that_cannot_be_reached_leaves_the_keys_unchecked_and_the_run_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        rest_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    broker = CcxtBroker(
        "binance", Credentials("k", "s"), rest_url=rest_url, retry=RetryPolicy(give_up_after_s=0), sleep=lambda s: None
    )
    check_keys(broker)
    assert "exchange keys not checked: binance unreachable for balances" in caplog.text
