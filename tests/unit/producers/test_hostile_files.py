"""Recorded files as a careless or hostile user hands them over: every bad line is refused with its
file:line, every good line is still read, and nothing ends the replay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.codec import encode
from events.envelope import time_of_ms, wrap
from producers.replay.lines import MAX_LINE_BYTES
from tests.conftest import spot_day_bars
from tests.unit.producers.test_replay_sources import SPOT_ROWS, read

ROWS = SPOT_ROWS[:20]
YEAR_2100_MS = 4_102_444_800_000


def _with_row(bad: str, at: int = 5) -> list[str]:
    return [*ROWS[:at], bad, *ROWS[at + 1 :]]


def _bad_binance_rows() -> list[tuple[str, str]]:
    good = ROWS[5].split(",")

    def row(**changes: str) -> str:
        names = ["t", "o", "h", "l", "c", "v", "T", "q", "n"]
        cells = list(good)
        for name, value in changes.items():
            cells[names.index(name)] = value
        return ",".join(cells)

    return [
        (row(t=str(YEAR_2100_MS), T=str(YEAR_2100_MS + 59_999)), "in the future"),
        (row(c="-5", l="-5"), "is not positive"),
        (row(o="1E+999999", h="1E+999999"), "is not a price"),
        (row(q="NaN"), "quote volume NaN is not a volume"),
        (row(q="-1"), "quote volume -1 is negative"),
        (row(n="-3"), "trade count -3"),
        (row(t="1674259230000", T="1674259289999"), "not aligned to the 1m interval"),
        (row(t="1674259200", T="1674319199"), "before 2009"),
    ]


@pytest.mark.parametrize(("bad_row", "error"), _bad_binance_rows())
def test_a_row_that_cannot_be_a_bar_is_refused_and_the_rest_read(tmp_path: Path, bad_row: str, error: str) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join(_with_row(bad_row)) + "\n")
    bars, dead_letters, _ = read(path)
    [letter] = dead_letters
    assert (letter.origin, letter.payload) == (f"{path}:6", bad_row)
    assert error in letter.error
    assert len(bars) == 19


def test_one_row_dated_2100_does_not_turn_later_rows_into_dead_letters(tmp_path: Path) -> None:
    cells = ROWS[3].split(",")
    cells[0], cells[6] = str(YEAR_2100_MS), str(YEAR_2100_MS + 59_999)
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join([*ROWS[:3], ",".join(cells), *ROWS[3:]]) + "\n")
    bars, dead_letters, _ = read(path)
    assert [letter.origin for letter in dead_letters] == [f"{path}:4"]
    assert len(bars) == 20


@pytest.mark.parametrize(
    ("garbage", "error"),
    [
        (b"\xff\xfe1674259500000,1,2,0.5,1.5,3,1674259559999,1,1,1,1,0", "not UTF-8 text"),
        (b"\0" * 5000, "NUL bytes"),
        (b"1" * (MAX_LINE_BYTES * 3), "line longer than"),
        (b"1674259500000," + b'"' + b"9" * 200_000 + b'"', "line longer than"),  # over the csv field limit too
    ],
)
def test_bytes_that_are_not_a_row_are_refused_with_their_line(tmp_path: Path, garbage: bytes, error: str) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    body = "\n".join(ROWS[:5]).encode() + b"\n" + garbage + b"\n" + "\n".join(ROWS[6:]).encode() + b"\n"
    path.write_bytes(body)
    bars, dead_letters, _ = read(path)
    [letter] = dead_letters
    assert letter.origin == f"{path}:6"
    assert error in letter.error
    assert len(letter.payload) <= 2_000
    assert len(bars) == 19


def test_a_file_without_line_breaks_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_bytes(ROWS[0].encode() + b"\n" + b"7" * (20 * MAX_LINE_BYTES))
    bars, dead_letters, _ = read(path)
    assert len(bars) == 1
    assert [(letter.origin, "line longer than" in letter.error) for letter in dead_letters] == [(f"{path}:2", True)]


def test_a_bom_before_the_first_row_is_not_taken_for_a_header(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(ROWS).encode() + b"\n")
    bars, dead_letters, _ = read(path)
    assert (len(bars), len(dead_letters)) == (20, 0)


@pytest.mark.parametrize(
    "first", ["garbled,1.5,2,1,1.5,10,1674259259999,1,1,1,1,0", "-1674259200000,1,1,1,1,1,1,1,1,1,1,0"]
)
def test_a_first_row_that_is_not_a_header_is_refused_not_dropped(tmp_path: Path, first: str) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join([first, *ROWS[1:]]) + "\n")
    bars, dead_letters, _ = read(path)
    assert [letter.origin for letter in dead_letters] == [f"{path}:1"]
    assert len(bars) == 19


def test_files_of_a_stream_are_read_in_time_order_whatever_their_names(tmp_path: Path) -> None:
    header = "timestamp,open,high,low,close,volume"
    june = [f"2024-06-30 23:{m:02d}:00,1,2,0.5,1.5,3" for m in range(50, 60)]
    july = [f"2024-07-01 00:{m:02d}:00,1,2,0.5,1.5,3" for m in range(10)]
    (tmp_path / "BTCUSDT_1m_julio.csv").write_text("\n".join([header, *july]) + "\n")  # sorts first by name
    (tmp_path / "BTCUSDT_1m_junio.csv").write_text("\n".join([header, *june]) + "\n")
    bars, dead_letters, gaps = read(tmp_path)
    assert (len(bars), len(dead_letters), gaps) == (20, 0, [])
    assert [bar.open_time_ms for bar in bars] == sorted(bar.open_time_ms for bar in bars)


def test_recorded_bars_are_checked_like_csv_rows(tmp_path: Path) -> None:
    good = wrap(spot_day_bars(limit=1)[0], time_of_ms(1_674_259_260_000))
    document = orjson.loads(encode(good))
    bad_details = {
        "negative close": {"close": "-5", "low": "-5"},
        "high below low": {"high": "1", "low": "2"},
        "close time": {"close_time_ms": document["detail"]["close_time_ms"] + 60_000},
        "open time": {"open_time_ms": document["detail"]["open_time_ms"] + 1},
        "huge": {"close": "1E+999999", "high": "1E+999999"},
        "2100": {"open_time_ms": YEAR_2100_MS, "close_time_ms": YEAR_2100_MS + 59_999},
    }
    lines = [encode(good).decode()]
    for changes in bad_details.values():
        lines.append(orjson.dumps({**document, "detail": {**document["detail"], **changes}}).decode())
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    bars, dead_letters, _ = read(path)
    assert bars == [good.detail]
    assert [letter.origin for letter in dead_letters] == [f"{path}:{n}" for n in range(2, 8)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300) | st.sampled_from([row.encode() for row in ROWS]), max_size=12))
def test_arbitrary_bytes_in_a_csv_never_end_the_replay(tmp_path: Path, chunks: list[bytes]) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_bytes(ROWS[0].encode() + b"\n" + b"\n".join(chunks) + b"\n")
    bars, dead_letters, _ = read(path)
    lines = path.read_bytes().count(b"\n")
    assert bars[0].open_time_ms == int(ROWS[0].split(",")[0])
    assert len(bars) + len(dead_letters) <= lines
    assert all(re.fullmatch(rf"{re.escape(str(path))}:\d+", letter.origin) for letter in dead_letters)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JSON | st.binary(max_size=200), max_size=10), st.sampled_from(["detail", "detail-type", "id", None]))
def test_arbitrary_json_in_a_recording_is_refused_line_by_line(
    tmp_path: Path, values: list[object], replaced: str | None
) -> None:
    good = orjson.loads(encode(wrap(spot_day_bars(limit=1)[0], time_of_ms(1_674_259_260_000))))
    lines = [orjson.dumps(good)]
    for value in values:
        if isinstance(value, bytes):
            lines.append(value.replace(b"\n", b" "))
        elif replaced is None:
            lines.append(json.dumps(value).encode())  # stdlib: also big integers and Infinity
        else:
            lines.append(json.dumps({**good, replaced: value}).encode())
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    bars, dead_letters, _ = read(path)
    assert bars[:1] == [spot_day_bars(limit=1)[0]]
    assert all(re.fullmatch(rf"{re.escape(str(path))}:\d+", letter.origin) for letter in dead_letters)
