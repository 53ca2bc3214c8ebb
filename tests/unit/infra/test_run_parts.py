"""A run's options stop at its entry point: `run_replay`, `run_live` and `run_stream` read every option once,
into typed parts, and no other function of theirs takes the options object; the parts do what the options said."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.models import BarClosed
from infra.aws.stream import StreamOptions
from infra.local.live import LiveOptions
from infra.local.replay import RecordedBars, ReplayOptions
from infra.local.run_parts import RunOutput, StateFile
from tests.conftest import REPO_ROOT, spot_day_bars

ENTRY_POINTS = [
    ("infra/local/replay.py", "run_replay", ReplayOptions),
    ("infra/local/live.py", "run_live", LiveOptions),
    ("infra/aws/stream.py", "run_stream", StreamOptions),
]
BARS = spot_day_bars(300)


def functions(module: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse((REPO_ROOT / module).read_text())
    found = (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))
    return {function.name: function for function in found}


@pytest.mark.parametrize(("module", "entry", "options"), ENTRY_POINTS)
def test_only_the_entry_point_takes_the_options(module: str, entry: str, options: type) -> None:
    takers = [
        name
        for name, function in functions(module).items()
        for argument in [*function.args.args, *function.args.kwonlyargs]
        if argument.annotation is not None and options.__name__ in ast.unparse(argument.annotation)
    ]
    assert takers == [entry]


@pytest.mark.parametrize(("module", "entry", "options"), ENTRY_POINTS)
def test_the_entry_point_reads_every_option_and_hands_on_none_whole(module: str, entry: str, options: type) -> None:
    function = functions(module)[entry]
    parameter = function.args.args[0].arg
    uses = [node for node in ast.walk(function) if isinstance(node, ast.Name) and node.id == parameter]
    read = {node.attr for node in ast.walk(function) if isinstance(node, ast.Attribute) and node.value in uses}
    whole = [node for node in uses if not any(getattr(a, "value", None) is node for a in ast.walk(function))]
    assert whole == []  # `options` itself is never an argument: each room gets its part
    assert read == {field.name for field in dataclasses.fields(options)}


def test_the_state_file_is_the_one_named_else_the_output_folders(tmp_path: Path) -> None:
    assert StateFile.of(None, tmp_path, resume=True, fresh=False) == StateFile(tmp_path / "state.sqlite", True, False)
    named = tmp_path / "elsewhere.sqlite"
    assert StateFile.of(named, tmp_path, resume=False, fresh=True) == StateFile(named, False, True)


def test_a_runs_files_sit_in_its_output_folder(tmp_path: Path) -> None:
    output = RunOutput(tmp_path, None, chart=True)
    assert (output.dead_letters, output.cursors) == (tmp_path / "dead-letters.jsonl", tmp_path / "cursors.json")


# a window's edges on a bar's open time, a millisecond either side of it, or beyond the bars
opens = [bar.open_time_ms + shift for bar in BARS for shift in (-1, 0, 1)]
edges = st.one_of(st.none(), st.sampled_from([*opens, opens[0] - 60_000, opens[-1] + 60_000]))


@given(start=edges, end=edges)
def test_a_replay_reads_exactly_the_bars_opening_in_its_window(start: int | None, end: int | None) -> None:
    chosen = list(RecordedBars((), None, None, from_ms=start, to_ms=end, speed=0).chosen(iter(BARS)))
    low, high = start if start is not None else -1, end if end is not None else 2**63
    assert chosen == [bar for bar in BARS if low <= bar.open_time_ms < high]


def test_with_no_window_and_no_pace_a_replay_reads_the_bars_as_they_come() -> None:
    bars: list[BarClosed] = list(reversed(BARS))
    assert list(RecordedBars((), None, None, None, None, speed=0).chosen(iter(bars))) == bars
