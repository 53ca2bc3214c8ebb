"""`stds sweep` end to end on real bars: every item is its own `stds replay`, parallel equals serial byte for byte,
a kill -9 loses nothing done, and a failing item fails alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli import main
from infra.research.items import TIMING
from tests.conftest import REPO_ROOT
from tests.e2e.sweep_harness import (
    SMALL_GRID,
    SUBPROCESS_ENV,
    items,
    kill_9_after_the_first_item,
    march_head,
    replay,
    results,
    sweep,
)


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days and two hours."""
    return march_head(tmp_path_factory.mktemp("bars"), 3000)


@pytest.fixture(scope="module")
def rough_bars_file(bars_file: Path) -> Path:
    """The same bars with one missing (a gap) and one that cannot be a bar (high below low, dead-lettered)."""
    lines = bars_file.read_text().splitlines(keepends=True)
    fields = lines[201].split(",")
    fields[2], fields[3] = fields[3], str(float(fields[3]) + 1000)  # high becomes the low, low above it
    lines[201] = ",".join(fields)
    del lines[101]
    path = bars_file.with_name("BTCUSDT_1m_rough.csv")
    path.write_text("".join(lines))
    return path


def test_every_item_is_its_own_replay_byte_for_byte(rough_bars_file: Path, tmp_path: Path) -> None:
    bars_file = rough_bars_file
    assert sweep(bars_file, tmp_path / "sweep", *SMALL_GRID, "--param", "qty=0.5", "--workers", "1") == 0
    rows = results(tmp_path / "sweep")
    assert len(rows) == 8
    found = items(tmp_path / "sweep")
    for index, row in enumerate(rows):
        params = {"fast": row["fast"], "slow": row["slow"], "mode": row["mode"], "qty": "0.5"}
        replay(bars_file, tmp_path / f"replay{index}", params)
        expected = json.loads((tmp_path / f"replay{index}" / "summary.json").read_text())
        (key,) = [
            key
            for key, summary in found.items()
            if summary["pnl"] == row["pnl"] and int(row["trades"]) == summary["trades"]
        ]
        assert found[key] == {k: v for k, v in expected.items() if k not in TIMING}
        totals = expected["trade_statistics"]["total"]  # the ledger's round trips, as the replay reports them
        assert (row["round_trips"], row["win_rate_pct"]) == (str(totals["round_trips"]), str(totals["win_rate_pct"]))
        trades = (tmp_path / "sweep" / "items" / f"{key}.trades.csv").read_bytes()
        assert trades == (tmp_path / f"replay{index}" / "trades.csv").read_bytes()
        assert int(row["trades"]) == expected["trades"] > 0
        assert (expected["gaps"], expected["dead_letters"]) == (2, 1)  # the missing bar, the refused one


def test_parallel_equals_serial_byte_for_byte(bars_file: Path, tmp_path: Path) -> None:
    grid = ["--grid", "fast=5,10", "--grid", "slow=20,30", "--walk-forward", "train=1d,test=6h,step=12h"]
    assert sweep(bars_file, tmp_path / "serial", *grid, "--workers", "1") == 0
    assert sweep(bars_file, tmp_path / "parallel", *grid, "--workers", "2", "--batch", "1") == 0
    for name in ("results.csv", "best.toml", "oos-equity.csv"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "parallel" / name).read_bytes(), name
    serial = sorted(p.name for p in (tmp_path / "serial" / "items").iterdir())
    assert serial == sorted(p.name for p in (tmp_path / "parallel" / "items").iterdir())
    for name in serial:
        assert (tmp_path / "serial/items" / name).read_bytes() == (tmp_path / "parallel/items" / name).read_bytes()


def test_walk_forward_reports_in_and_out_of_sample_and_each_test_item_is_a_replay_of_its_window(
    bars_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "wf"
    assert sweep(bars_file, out, *SMALL_GRID, "--walk-forward", "train=1d,test=6h,step=12h") == 0
    rows = results(out)
    # 3,000 bars from 03:00: folds train from 03:00 and 15:00 (a third would test past the last bar)
    assert sorted({(r["fold"], r["train_from"], r["test_from"], r["test_to"]) for r in rows}) == [
        ("1", "2025-03-01T03:00:00Z", "2025-03-02T03:00:00Z", "2025-03-02T09:00:00Z"),
        ("2", "2025-03-01T15:00:00Z", "2025-03-02T15:00:00Z", "2025-03-02T21:00:00Z"),
    ]
    assert [sum(r["chosen"] == "yes" for r in rows if r["fold"] == fold) for fold in ("1", "2")] == [1, 1]
    for fold in ("1", "2"):
        fold_rows = [r for r in rows if r["fold"] == fold]
        chosen = next(r for r in fold_rows if r["chosen"])
        assert float(chosen["is_sharpe"]) == max(float(r["is_sharpe"]) for r in fold_rows)
    assert "oos_sharpe" in rows[0] and "is_win_rate_pct" in rows[0]
    # the chosen set of fold 1 on its test window, replayed alone on a file of just those bars
    chosen = next(r for r in rows if r["fold"] == "1" and r["chosen"])
    window = tmp_path / "BTCUSDT_1m_window.csv"
    with bars_file.open() as source:
        lines = source.readlines()
    window.write_text(
        lines[0] + "".join(row for row in lines[1:] if "2025-03-02 03:00" <= row[:16] < "2025-03-02 09:00")
    )
    replay(window, tmp_path / "alone", {"fast": chosen["fast"], "slow": chosen["slow"], "mode": chosen["mode"]})
    expected = json.loads((tmp_path / "alone" / "summary.json").read_text())
    assert (chosen["oos_pnl"], chosen["oos_trades"], chosen["oos_sharpe"]) == (
        expected["pnl"],
        str(expected["trades"]),
        str(expected["sharpe"]),
    )
    # the same window by `stds replay --from --to` on the whole file: what a user runs to look into a row
    options = ["--from", chosen["test_from"], "--to", chosen["test_to"], "--out", str(tmp_path / "ranged")]
    params = [f"--param={name}={chosen[name]}" for name in ("fast", "slow", "mode")]
    assert main(["replay", str(bars_file), "--strategy", "sma_cross", *params, *options, "--no-chart"]) == 0
    for name in ("trades.csv", "equity.csv"):
        assert (tmp_path / "ranged" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes()
    stitched = (out / "oos-equity.csv").read_text().splitlines()
    assert stitched[0] == "time,fold,chosen,equity,stitched_equity"
    assert len(stitched) == 1 + 2 * 360  # two test windows of six hours
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    best = (out / "best.toml").read_text()
    assert "best out of sample by sharpe" in best and best.count('sma_cross = { use = "sma_cross"') == 1


def test_resume_after_kill_9_continues_from_what_is_done(bars_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "infra.cli", "sweep", str(bars_file), "--strategy", "sma_cross",
               "--grid", "fast=2:9", "--grid", "slow=20,40", "--out", str(out), "--workers", "1", "--batch", "1",
               "--no-progress"]  # fmt: skip
    kill_9_after_the_first_item(command, out)
    done = len(items(out))
    assert 0 < done < 16
    assert not (out / "results.csv").exists()

    rerun = subprocess.run(command, cwd=REPO_ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True, check=True)
    assert f"16 items ({done} done earlier)" in rerun.stdout
    assert f"{16 - done} items run" in rerun.stdout
    uninterrupted = tmp_path / "whole"
    assert sweep(bars_file, uninterrupted, "--grid", "fast=2:9", "--grid", "slow=20,40", "--workers", "1") == 0
    assert (out / "results.csv").read_bytes() == (uninterrupted / "results.csv").read_bytes()


FRAGILE = """
from decimal import Decimal
from consumers.strategies.base import Strategy, StrategyParams


class FragileParams(StrategyParams):
    period: int = 10


class Fragile(Strategy):
    name = "fragile"
    Params = FragileParams

    @property
    def lookback(self) -> int:
        if self.params.period == 13:
            raise RuntimeError("period 13 is unlucky")
        return self.params.period

    def target(self, window, current_target):
        return self.params.qty if window.closes[-1] > window.closes[0] else Decimal(0)
"""


def test_a_failing_item_is_reported_and_the_others_finish(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fragile.py").write_text(FRAGILE)
    out = tmp_path / "sweep"
    options = ["sweep", str(bars_file), "--strategy", f"{tmp_path / 'fragile.py'}", "--grid", "period=11:14",
               "--out", str(out), "--no-progress", "--workers", "1"]  # fmt: skip
    assert main(options) == 1
    said = capsys.readouterr()
    assert "failed: period=13 on 2025-03-01T03:00 → 2025-03-03T05:00: RuntimeError: period 13 is unlucky" in said.err
    assert "3 items run" in said.out and "1 failed" in said.out
    rows = results(out)
    assert [(r["period"], r["error"] != "", r["trades"] != "") for r in rows] == [
        ("11", False, True),
        ("12", False, True),
        ("13", True, False),
        ("14", False, True),
    ]
    assert "RuntimeError: period 13 is unlucky (at fragile.py:" in rows[2]["error"]
    assert (out / "best.toml").exists()
    assert main(options) == 1  # the failed item is tried again, the others are not
    assert "4 items (3 done earlier)" in capsys.readouterr().out
    assert main([*options[:5], "period=13", *options[6:]]) == 1  # the same folder, only the failing set
    assert "best.toml: not written: no parameter set ran and has a sharpe (see results.csv)" in capsys.readouterr().out
    assert not (out / "best.toml").exists()  # the earlier run's is not this sweep's answer


def test_a_folder_of_another_sweep_is_refused(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sweep(bars_file, tmp_path / "s", "--grid", "fast=5,10", "--grid", "slow=30", "--workers", "1") == 0
    assert sweep(bars_file, tmp_path / "s", "--grid", "fast=5,10", "--grid", "slow=30", "--fee-bps", "5") == 2
    assert "holds a sweep of other bars, strategy line or broker settings" in capsys.readouterr().err
    assert (
        sweep(bars_file, tmp_path / "s", "--grid", "fast=5,10", "--grid", "slow=30", "--fee-bps", "5", "--fresh") == 0
    )


def test_a_sweep_table_drives_a_random_search_and_the_command_line_wins(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(
        "[strategies]\n"
        'fast_slow = { use = "sma_cross", params = { qty = "0.5" } }\n'
        "[sweep]\n"
        'grid = { fast = "10:40:10", slow = [20, 30, 60] }\n'
        "samples = 5\n"
        "seed = 3\n"
        'objective = "return"\n'
    )
    out = tmp_path / "table"
    assert main(["sweep", str(bars_file), "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    said = capsys.readouterr().out
    # fast 10..40 × slow 20, 30, 60: the strategy refuses the 5 with fast >= slow; 5 of the other 7 are drawn
    assert "5 parameter sets skipped, the strategy refuses them, e.g. fast=20 slow=20: fast (20) must be" in said
    assert "top 5 of 5 parameter sets by return %" in said
    drawn = [(r["fast"], r["slow"]) for r in results(out)]
    assert len(drawn) == 5 and len(set(drawn)) == 5 and all(int(f) < int(s) for f, s in drawn)
    assert 'fast_slow = { use = "sma_cross", params = { qty = "0.5", ' in (out / "best.toml").read_text()
    again = tmp_path / "again"
    options = ["--config", str(config), "--out", str(again), "--no-progress", "--samples", "2", "--grid", "slow=60"]
    assert main(["sweep", str(bars_file), *options]) == 0
    assert [r["slow"] for r in results(again)] == ["60", "60"]


def test_a_window_without_bars_is_refused_before_anything_runs(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ranges = ["--train", "2025-03-01T03:00..2025-03-02", "--test", "2025-04-02..2025-04-03"]
    assert sweep(bars_file, tmp_path / "s", "--grid", "fast=5,10", "--grid", "slow=30", *ranges) == 2
    assert capsys.readouterr().err == (
        "stds: error: fold 1: the test range 2025-04-02T00:00 → 2025-04-03T00:00 holds no bars "
        "(they run from 2025-03-01T03:00 to 2025-03-03T04:59): give ranges within them\n"
    )
    assert not (tmp_path / "s" / "items").exists()


def test_aws_prints_the_estimate_and_refuses_above_max_cost_before_touching_aws(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = sweep(bars_file, tmp_path / "aws", *SMALL_GRID, "--aws", "--max-cost", "0.0001")
    captured = capsys.readouterr()
    assert status == 2
    assert "stds sweep --aws: 8 items × 3,000 bars" in captured.out and "Lambda compute" in captured.out
    assert "above --max-cost $0.0001" in captured.err
