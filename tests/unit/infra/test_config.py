"""The strategies file: one line adds a strategy, mistakes are refused with the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError, load_config, parse_config
from infra.strategy_loader import load_strategies
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "strategies.example.toml"


def test_example_file_loads_every_strategy_with_its_pattern() -> None:
    specs = {spec.name: spec for spec in load_strategies(load_config(EXAMPLE), REPO_ROOT)}
    assert list(specs) == ["sma_btc", "sma_ls_all", "donchian", "bollinger", "momentum"]
    assert specs["sma_btc"].pattern == {
        "detail-type": ["BarClosed"],
        "detail": {"timeframe": ["1m"], "symbol": ["BTC/USDT"]},
    }
    assert specs["sma_ls_all"].pattern == {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1m"]}}
    assert specs["momentum"].strategy.lookback == 61


def test_adding_a_strategy_is_one_module_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        "from decimal import Decimal\n"
        "from consumers.strategies.base import Strategy\n"
        "class AlwaysLong(Strategy):\n"
        "    name = 'always_long'\n"
        "    lookback = 1  # type: ignore[assignment]\n"
        "    def target(self, window, current_target):\n"
        "        return self.params.qty\n"
    )
    (tmp_path / "s.toml").write_text('[strategies]\nmine = { use = "mine.py", params = { qty = "2" } }\n')
    [spec] = load_strategies(load_config(tmp_path / "s.toml"), tmp_path)
    assert spec.name == "mine"
    assert str(spec.strategy.params.qty) == "2"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"strategies": {}}, "strategies: Dictionary should have at least 1 item"),
        ({"strategies": {"Bad Name": {"use": "sma_cross"}}}, "strategies.Bad Name: names are lower-case"),
        (
            {"strategies": {"s": {"use": "sma_cross", "symbol": "BTC/USDT"}}},
            "strategies.s.symbol: Extra inputs",
        ),
        ({"strategies": {"s": {"use": "sma_cross"}}, "risk": {"max_position": "x"}}, "risk.max_position"),
    ],
)
def test_configuration_mistakes_name_the_key(document: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config(document, "s.toml")


def test_bad_params_and_unknown_strategy_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"strategies\.s\.params\.fast: Input should be a valid integer"):
        load_strategies(parse_config({"strategies": {"s": {"use": "sma_cross", "params": {"fast": "x"}}}}), tmp_path)
    with pytest.raises(ConfigError, match="not a built-in strategy"):
        load_strategies(parse_config({"strategies": {"s": {"use": "no_such_thing"}}}), tmp_path)
    with pytest.raises(ConfigError, match="no such strategy file"):
        load_strategies(parse_config({"strategies": {"s": {"use": "missing.py"}}}), tmp_path)


def test_a_parameter_rule_is_reported_without_pydantic_noise(tmp_path: Path) -> None:
    config = parse_config({"strategies": {"x": {"use": "sma_cross", "params": {"fast": 40}}}})
    with pytest.raises(ConfigError) as refused:
        load_strategies(config, tmp_path)
    assert str(refused.value) == "strategies.x.params: fast (40) must be shorter than slow (30)"


def test_the_demo_file_sizes_every_strategy_by_a_share_of_equity() -> None:
    demo = REPO_ROOT / "examples" / "demo.toml"
    specs = load_strategies(load_config(demo), demo.parent)
    assert [spec.name for spec in specs] == ["trend_1h", "breakout_4h", "reversion", "momentum"]
    assert {str(spec.stake) for spec in specs} == {"30%"} and {spec.strategy.params.qty for spec in specs} == {1}


def test_a_stake_and_a_qty_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        '[strategies]\nsma = { use = "sma_cross", params = { qty = "2" }, stake = "10%" }\n'
    )
    with pytest.raises(ConfigError, match=r"give stake or params\.qty, not both"):
        load_strategies(load_config(tmp_path / "s.toml"), tmp_path)
    (tmp_path / "s.toml").write_text('[strategies]\nbad = { use = "sma_cross", stake = "ten" }\n')
    with pytest.raises(ConfigError, match=r"strategies\.bad: stake = 'ten'"):
        load_strategies(load_config(tmp_path / "s.toml"), tmp_path)


def test_a_line_declares_its_timeframe_and_its_pattern_selects_those_bars() -> None:
    config = parse_config({"strategies": {"trend": {"use": "sma_cross", "timeframe": "1h"}}})
    (spec,) = load_strategies(config, REPO_ROOT)
    assert spec.pattern == {"detail-type": ["BarClosed"], "detail": {"timeframe": ["1h"]}}
    with pytest.raises(ConfigError, match=r"strategies.trend.timeframe: unknown timeframe '7m' \(one of 1m, 3m"):
        parse_config({"strategies": {"trend": {"use": "sma_cross", "timeframe": "7m"}}})


def test_timeframe_on_the_command_line_replaces_every_lines_unless_it_gives_its_own_pattern(tmp_path: Path) -> None:
    import argparse

    from infra.cli.options import config_from_args

    config_file = tmp_path / "strategies.toml"
    config_file.write_text('[strategies]\na = { use = "sma_cross" }\nb = { use = "donchian_breakout" }\n')
    fields = {"strategy": None, "param": [], "stake": None, "fee_bps": None, "slippage_bps": None, "cash": None}
    args = argparse.Namespace(config=config_file, timeframe="15m", **fields)
    config, _ = config_from_args(args, strategy_symbols=None)
    assert {line.timeframe for line in config.strategies.values()} == {"15m"}
    config_file.write_text('[strategies]\na = { use = "sma_cross", pattern = { "detail-type" = ["BarClosed"] } }\n')
    with pytest.raises(ConfigError, match="--timeframe: strategies a give their own pattern; set it there"):
        config_from_args(args, strategy_symbols=None)
