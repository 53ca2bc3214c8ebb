"""`stds sweep --sampler optuna` end to end on real bars: a seed gives the same trials and results on any number of
workers, a kill -9 mid-study resumes to the uninterrupted result, every trial's item is its own `stds replay`,
walking forward each train window has its own study, and bad options are refused in one line before anything runs."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infra.cli import main
from infra.cli.options import epoch_ms
from infra.research.items import TIMING, SweepItem
from infra.research.windows import Span
from tests.conftest import REPO_ROOT
from tests.e2e.sweep_harness import (
    SUBPROCESS_ENV,
    items,
    kill_9_after_the_first_item,
    march_head,
    replay,
    results,
    sweep,
)

SPACE = ["--grid", "fast=2:30", "--grid", "slow=10:120:10", "--grid", "mode=long_flat,long_short"]
# 16 trials asked 4 at a time: TPE starts after 10 finished trials, so the fourth round is TPE's own
STUDY = [*SPACE, "--sampler", "optuna", "--trials", "16", "--round-size", "4"]


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days and two hours."""
    return march_head(tmp_path_factory.mktemp("bars"), 3000)


def folder_bytes(out: Path) -> dict[str, bytes]:
    names = ["results.csv", "best.toml", *(f"items/{path.name}" for path in (out / "items").iterdir())]
    return {name: (out / name).read_bytes() for name in names}


def test_the_same_seed_gives_the_same_trials_and_results_on_any_number_of_workers(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sweep(bars_file, tmp_path / "one", *STUDY, "--seed", "7", "--workers", "1") == 0
    said = capsys.readouterr().out
    assert "sweep: optuna TPE (seed 7), 16 trials, asked 4 at a time" in said
    assert sweep(bars_file, tmp_path / "two", *STUDY, "--seed", "7", "--workers", "2", "--batch", "1") == 0
    assert folder_bytes(tmp_path / "one") == folder_bytes(tmp_path / "two")
    rows = results(tmp_path / "one")
    tried = [(row["fast"], row["slow"], row["mode"]) for row in rows]
    assert len(set(tried)) == len(tried) == len(items(tmp_path / "one"))  # a row and an item per distinct set
    assert all(int(fast) < int(slow) for fast, slow, _ in tried)  # refused sets are not run
    assert sweep(bars_file, tmp_path / "other", *STUDY, "--seed", "8", "--workers", "1") == 0
    assert [(row["fast"], row["slow"], row["mode"]) for row in results(tmp_path / "other")] != tried


def test_a_study_killed_mid_way_resumes_to_the_uninterrupted_result(bars_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "infra.cli", "sweep", str(bars_file), "--strategy", "sma_cross", *STUDY,
               "--out", str(out), "--workers", "1", "--batch", "1", "--no-progress"]  # fmt: skip
    kill_9_after_the_first_item(command, out)
    done = len(items(out))
    assert not (out / "results.csv").exists()
    rerun = subprocess.run(command, cwd=REPO_ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True, check=True)
    finished = len(items(out))
    assert 0 < done < finished
    assert f"{finished - done} items run" in rerun.stdout and f"{done} done earlier" in rerun.stdout
    assert sweep(bars_file, tmp_path / "whole", *STUDY, "--workers", "1") == 0
    assert folder_bytes(out) == folder_bytes(tmp_path / "whole")


def test_every_trial_is_its_own_replay_byte_for_byte(bars_file: Path, tmp_path: Path) -> None:
    options = [*SPACE, "--sampler", "optuna", "--trials", "6", "--param", "qty=0.5", "--workers", "1"]
    assert sweep(bars_file, tmp_path / "study", *options) == 0
    rows = results(tmp_path / "study")
    assert len(rows) == len(items(tmp_path / "study")) >= 5
    for index, row in enumerate(rows):
        params = {name: row[name] for name in ("fast", "slow", "mode")}
        key = SweepItem(0, params, Span(epoch_ms(row["train_from"]), epoch_ms(row["train_to"]))).key
        replay(bars_file, tmp_path / f"replay{index}", {**params, "qty": "0.5"})
        expected = json.loads((tmp_path / f"replay{index}" / "summary.json").read_text())
        summary = json.loads((tmp_path / "study" / "items" / f"{key}.json").read_text())
        assert summary == {name: value for name, value in expected.items() if name not in TIMING}
        trades = (tmp_path / "study" / "items" / f"{key}.trades.csv").read_bytes()
        assert trades == (tmp_path / f"replay{index}" / "trades.csv").read_bytes()
        assert (row["pnl"], row["trades"]) == (expected["pnl"], str(expected["trades"]))


def test_walking_forward_each_train_window_has_its_own_study_and_its_sets_are_tested_after_it(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wf"
    assert sweep(bars_file, out, *STUDY, "--walk-forward", "train=1d,test=6h,step=12h", "--workers", "1") == 0
    said = capsys.readouterr().out
    assert "16 trials in each of 2 studies, one per train window, asked 4 at a time, then on the test windows" in said
    assert "optuna study of fold 1: 16 trials, " in said and "optuna study of fold 2: 16 trials, " in said
    rows = results(out)
    by_fold = {fold: [row for row in rows if row["fold"] == fold] for fold in ("1", "2")}
    sets = {fold: [(r["fast"], r["slow"], r["mode"]) for r in fold_rows] for fold, fold_rows in by_fold.items()}
    assert sets["1"] != sets["2"]  # TPE's round learnt from its own window
    for fold_rows in by_fold.values():
        assert all(row["is_sharpe"] != "" and row["oos_sharpe"] != "" for row in fold_rows)  # both sides, every set
        (chosen,) = [row for row in fold_rows if row["chosen"] == "yes"]
        assert float(chosen["is_sharpe"]) == max(float(row["is_sharpe"]) for row in fold_rows)
    keys = {
        SweepItem(0, {n: row[n] for n in ("fast", "slow", "mode")}, Span(epoch_ms(row[f]), epoch_ms(row[t]))).key
        for row in rows
        for f, t in (("train_from", "train_to"), ("test_from", "test_to"))
    }
    assert keys == set(items(out))  # exactly each study's sets, on its train window and on its test window
    assert len((out / "oos-equity.csv").read_text().splitlines()) == 1 + 2 * 360
    best = (out / "best.toml").read_text()
    assert "best out of sample by sharpe: mean " in best and " over 2 test windows " in best
    assert "among the 13 parameter sets every fold's study ran (19 tried)" in best
    params = tomllib.loads(best)["strategies"]["sma_cross"]["params"]
    # not a set one study found lucky on its one test window: one both studies ran, judged on both
    assert (str(params["fast"]), str(params["slow"]), params["mode"]) in set(sets["1"]) & set(sets["2"])
    (latest,) = [row for row in by_fold["2"] if row["chosen"] == "yes"]
    assert f"fold 2's choice on the latest train window: fast={latest['fast']} slow={latest['slow']} " in best


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--trials", "0"], "stds: error: --trials 0: give a positive number of trials\n"),
        (["--trials", "5", "--round-size", "-1"], "stds: error: --round-size -1: give a positive number of trials\n"),
        ([], "stds: error: --sampler optuna needs --trials N: how many trials each study runs\n"),
        (
            ["--trials", "5", "--samples", "3"],
            "stds: error: --samples draws sets from the grid at random; with --sampler optuna give --trials instead\n",
        ),
        (
            ["--trials", "5", "--aws"],
            "stds: error: --sampler optuna runs on this machine only: each round of trials waits for the one "
            "before, which on AWS would be one Step Functions execution per round; sweep a grid or --samples "
            "with --aws\n",
        ),
    ],
)
def test_bad_optuna_options_are_refused_in_one_line_before_anything_runs(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], says: str
) -> None:
    assert sweep(bars_file, tmp_path / "s", *SPACE, "--sampler", "optuna", *options) == 2
    assert capsys.readouterr().err == says
    assert not (tmp_path / "s").exists()


def test_trials_without_the_optuna_sampler_are_refused(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sweep(bars_file, tmp_path / "s", *SPACE, "--trials", "5") == 2
    assert capsys.readouterr().err == (
        "stds: error: --trials and --round-size go with --sampler optuna; a grid runs every set (--samples N: N)\n"
    )


def test_without_optuna_installed_the_error_says_how_to_install_it(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` raises ImportError, as when it is missing
    assert sweep(bars_file, tmp_path / "s", *SPACE, "--sampler", "optuna", "--trials", "5") == 2
    assert capsys.readouterr().err == (
        "stds: error: --sampler optuna needs the optuna package: pip install 'stds[optuna]'\n"
    )
    assert not (tmp_path / "s").exists()


def test_a_sweep_table_can_ask_for_a_study(bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "study.toml"
    config.write_text(
        "[strategies]\n"
        'fast_slow = { use = "sma_cross", params = { qty = "0.5" } }\n'
        "[sweep]\n"
        'grid = { fast = "2:30", slow = "10:120:10" }\n'
        'sampler = "optuna"\n'
        "trials = 6\n"
        "round_size = 3\n"
        "seed = 4\n"
    )
    out = tmp_path / "table"
    assert main(["sweep", str(bars_file), "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "sweep: optuna TPE (seed 4), 6 trials, asked 3 at a time" in said
    assert "optuna study: 6 trials, " in said
    assert 'fast_slow = { use = "sma_cross", params = { qty = "0.5", ' in (out / "best.toml").read_text()
