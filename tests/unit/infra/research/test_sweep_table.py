"""The [sweep] table of a strategies file, read beside the [strategies] lines it sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError
from infra.research.grid import grid_values
from infra.research.sweep_table import SweepTable, load_sweep_file


def test_a_sweep_table_is_read_beside_the_strategies(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(
        "[strategies]\n"
        'sma = { use = "sma_cross", symbols = ["BTC/USDT"], params = { qty = "0.5" } }\n'
        "[paper]\n"
        "fee_bps = 5\n"
        "[sweep]\n"
        'strategy = "sma"\n'
        'grid = { fast = "5:20:5", slow = [30, 60], mode = ["long_flat", "long_short"] }\n'
        "samples = 4\n"
        "seed = 7\n"
        'objective = "return"\n'
        'walk_forward = "train=7d,test=2d"\n'
    )
    config, table = load_sweep_file(path)
    assert list(config.strategies) == ["sma"]
    assert str(config.paper.fee_bps) == "5"
    assert table == SweepTable(
        strategy="sma",
        grid={"fast": "5:20:5", "slow": [30, 60], "mode": ["long_flat", "long_short"]},
        samples=4,
        seed=7,
        objective="return",
        walk_forward="train=7d,test=2d",
    )
    assert grid_values(table.grid["fast"], "grid.fast") == [5, 10, 15, 20]


def test_a_file_without_a_sweep_table_has_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text('[strategies]\nsma = { use = "sma_cross" }\n')
    assert load_sweep_file(path)[1] == SweepTable()


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('objective = "profit"', "sweep.objective"),
        ("samples = 0", "sweep.samples"),
        ('sampler = "hyperopt"', "sweep.sampler"),
        ("trials = 0", "sweep.trials"),
        ("round_size = 0", "sweep.round_size"),
        ('grids = { fast = "1:2" }', "sweep.grids"),
    ],
)
def test_a_bad_sweep_table_names_the_file_and_key(tmp_path: Path, table: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[strategies]\nsma = {{ use = "sma_cross" }}\n[sweep]\n{table}\n')
    with pytest.raises(ConfigError, match=f"{path}: {says}"):
        load_sweep_file(path)
