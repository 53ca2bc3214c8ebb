"""stds strategy add: a working module, a passing test, one line inside [strategies], nothing clobbered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli import main
from infra.config import load_config
from infra.strategy_loader import load_strategies
from tests.conftest import REPO_ROOT

EXAMPLE = (REPO_ROOT / "strategies.example.toml").read_text()


def _add(tmp_path: Path, name: str, config: Path) -> int:
    return main([
        "strategy", "add", name, "--config", str(config), "--dir", str(tmp_path / "strategies"),
        "--tests", str(tmp_path / "tests" / "strategies"), "--symbols", "BTC/USDT,ETH/USDT",
    ])  # fmt: skip


def test_the_line_lands_in_the_strategies_table_and_the_scaffold_runs(tmp_path: Path) -> None:
    config = tmp_path / "strategies.toml"
    config.write_text(
        EXAMPLE.replace("examples/strategies/momentum.py", str(REPO_ROOT / "examples/strategies/momentum.py"))
    )
    before = load_config(config)
    assert _add(tmp_path, "trend-9", config) == 0
    after = load_config(config)
    assert set(after.strategies) == {*before.strategies, "trend-9"}
    assert after.risk == before.risk and after.paper == before.paper  # the other tables are untouched
    assert after.strategies["trend-9"].symbols == ["BTC/USDT", "ETH/USDT"]
    (spec,) = [s for s in load_strategies(after, tmp_path) if s.name == "trend-9"]
    assert spec.strategy.lookback == 30
    assert spec.pattern == {
        "detail-type": ["BarClosed"],
        "detail": {"timeframe": ["1m"], "symbol": ["BTC/USDT", "ETH/USDT"]},
    }
    generated = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "tests" / "strategies")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr


def test_a_new_file_gets_the_table_and_nothing_is_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "new.toml"
    assert _add(tmp_path, "first", config) == 0
    assert list(load_config(config).strategies) == ["first"]
    assert _add(tmp_path, "first", config) == 2
    assert "exists already" in capsys.readouterr().err
    assert _add(tmp_path, "Bad Name", config) == 2
    assert list(load_config(config).strategies) == ["first"]
