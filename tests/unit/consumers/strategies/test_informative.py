"""Informative bars: how a line declares them, which of their bars a decision may see, and where they are refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aws_cdk as cdk
import pytest

from consumers.stores.memory import MemoryBarStore
from consumers.strategies.informative import (
    InformativeBars,
    InformativeNotDeclared,
    InformativeStream,
    last_visible_open_ms,
)
from consumers.strategies.window import InformativeUnavailable, Window
from events.models import BarClosed, trusted_bar
from events.timeframes import timeframe_ms
from infra.cdk.app import build_stack
from infra.config import ConfigError, parse_config
from infra.strategy_loader import load_strategies

H = 3_600_000
T0 = 1_620_345_600_000  # 2021-05-07 00:00 UTC


def bar(symbol: str, timeframe: str, open_time_ms: int, close: int = 10) -> BarClosed:
    price = Decimal(close)
    end = open_time_ms + timeframe_ms(timeframe) - 1
    return trusted_bar("binance", symbol, timeframe, open_time_ms, end, price, price, price, price, Decimal(1))


def line(**fields: object) -> dict[str, object]:
    return {"strategies": {"trend": {"use": "sma_cross", "symbols": ["BTC/USDT"], "timeframe": "5m", **fields}}}


def test_a_bare_timeframe_is_the_lines_own_symbols_and_symbol_at_timeframe_another() -> None:
    config = parse_config(line(informative=["1h", "ETH/USDT@1d"]), "s.toml")
    assert config.strategies["trend"].informative_streams() == (
        InformativeStream("1h"),
        InformativeStream("1d", "ETH/USDT"),
    )
    [spec] = load_strategies(config, Path("."))
    assert spec.informative_patterns == (
        {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1h"], "symbol": ["BTC/USDT"]}},
        {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1d"], "symbol": ["ETH/USDT"]}},
    )
    assert spec.pattern["detail"]["timeframe"] == ["5m"]  # it decides on its own bars only
    assert spec.reads_informative(bar("BTC/USDT", "1h", T0))
    assert not spec.reads_informative(bar("ETH/USDT", "1h", T0))
    assert spec.reads_informative(bar("ETH/USDT", "1d", T0))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"informative": ["4x"]}, "strategies.trend.informative: '4x': unknown timeframe '4x'"),
        ({"informative": ["@1h"]}, "strategies.trend.informative: '@1h': no symbol before '@'"),
        ({"informative": ["1h", "1h"]}, "strategies.trend.informative: ['1h', '1h']: a stream is named twice"),
        ({"informative": ["5m"]}, "strategies.trend: informative '5m' is the line's own timeframe 5m"),
        ({"informative": ["BTC/USDT@5m"]}, "strategies.trend: informative 'BTC/USDT@5m' is the line's own"),
        (
            {"informative": ["1h"], "pattern": {"detail-type": ["BarClosed"]}},
            "strategies.trend: informative needs symbols/timeframe, not an explicit pattern",
        ),
    ],
)
def test_a_bad_informative_declaration_is_refused_naming_the_line(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^s.toml: " + message.replace(".", r"\.").replace("[", r"\[")):
        parse_config(line(**fields), "s.toml")


@pytest.mark.parametrize(
    ("decided", "symbol", "timeframe", "newest_open_ms"),
    [
        (bar("BTC/USDT", "5m", T0 + 10 * H + 55 * 60_000), "BTC/USDT", "1h", T0 + 10 * H),  # closing together
        (bar("BTC/USDT", "5m", T0 + 10 * H + 50 * 60_000), "BTC/USDT", "1h", T0 + 9 * H),  # 10:00 still forming
        (bar("BTC/USDT", "5m", T0 + 10 * H + 55 * 60_000), "ETH/USDT", "1h", T0 + 9 * H),  # another symbol: closed
        (bar("BTC/USDT", "5m", T0 + 11 * H), "ETH/USDT", "1h", T0 + 10 * H),  # before the decided bar opened
        (bar("BTC/USDT", "1h", T0 + 10 * H), "BTC/USDT", "5m", T0 + 10 * H + 55 * 60_000),  # a shorter timeframe
        (bar("BTC/USDT", "1h", T0 + 23 * H), "BTC/USDT", "1d", T0),  # the day closes with its last hour
        (bar("BTC/USDT", "1h", T0 + 22 * H), "BTC/USDT", "1d", T0 - 24 * H),
    ],
)
def test_a_decision_sees_the_bars_closed_by_its_close_or_for_another_symbol_by_its_open(
    decided: BarClosed, symbol: str, timeframe: str, newest_open_ms: int
) -> None:
    assert last_visible_open_ms(decided, symbol, timeframe) == newest_open_ms


def test_the_informative_window_is_the_lookback_newest_visible_bars_or_none_while_one_is_missing() -> None:
    store = MemoryBarStore()
    for hour in range(12):
        if hour != 5:
            store.add(bar("BTC/USDT", "1h", T0 + hour * H, close=hour))
    decided = bar("BTC/USDT", "5m", T0 + 10 * H + 55 * 60_000)
    informative = InformativeBars(store, decided, (InformativeStream("1h"),), length=3)
    window = informative.window("1h")
    assert window is not None and [b.open_time_ms for b in window.bars] == [T0 + 8 * H, T0 + 9 * H, T0 + 10 * H]
    assert InformativeBars(store, decided, (InformativeStream("1h"),), length=6).window("1h") is None  # 05:00 gap
    with pytest.raises(InformativeNotDeclared, match=r"informative 'ETH/USDT@1h' is not declared .* \(declared: 1h\)"):
        informative.window("1h", "ETH/USDT")


def test_a_window_without_informative_bars_says_to_declare_them() -> None:
    with pytest.raises(InformativeUnavailable, match="declare them in the strategy's line"):
        Window([bar("BTC/USDT", "1m", T0)]).informative("1h")


def test_aws_refuses_a_line_with_informative_bars_rather_than_decide_without_them(tmp_path: Path) -> None:
    strategies = tmp_path / "s.toml"
    strategies.write_text('[strategies]\ntrend = { use = "sma_cross", timeframe = "5m", informative = ["1h"] }\n')
    with pytest.raises(ConfigError, match=r"s\.toml: strategies\.trend: informative bars are not yet supported on AWS"):
        build_stack(cdk.App(), strategies, tmp_path / "build", with_dependencies=False)


def test_timeframe_on_the_command_line_is_refused_where_a_line_reads_it_as_informative(tmp_path: Path) -> None:
    import argparse

    from infra.cli.options import config_from_args

    strategies = tmp_path / "s.toml"
    strategies.write_text('[strategies]\ntrend = { use = "sma_cross", timeframe = "5m", informative = ["1h"] }\n')
    fields: dict[str, object] = {
        "strategy": None,
        "param": [],
        "stake": None,
        "fee_bps": None,
        "slippage_bps": None,
        "cash": None,
    }
    config, _ = config_from_args(argparse.Namespace(config=strategies, timeframe="15m", **fields), None)
    assert config.strategies["trend"].timeframe == "15m" and config.strategies["trend"].informative == ["1h"]
    with pytest.raises(ConfigError, match=r"^--timeframe: strategies\.trend: informative '1h' is"):
        config_from_args(argparse.Namespace(config=strategies, timeframe="1h", **fields), None)
