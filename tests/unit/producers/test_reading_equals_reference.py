"""The block reader says what the plain line-by-line reader it replaced said, on random files of good and bad rows:
the same bars (digit for digit), the same dead letters (origin, reason, payload, in order) and the same gaps.

The reference below is that earlier reader, kept as the oracle: one line, one origin string, one parse at a time."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.dead_letters import DeadLetterList, DeadLetters
from events.models import BarClosed
from producers.replay import lines
from producers.replay.ohlcv_csv import parse_timestamp
from producers.replay.rows import InvalidBarRow, StreamInfo, checked_bar, to_ms
from producers.replay.sequencing import Gap, in_sequence
from producers.replay.sources import open_sources
from tests.unit.producers.test_replay_sources import SPOT_ROWS

MAX_LINE = lines.MAX_LINE_BYTES
STREAM = StreamInfo("binance", "BTC/USDT", "1m", 60_000)


def reference_lines(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, str]]:
    """(origin, text) of every line that is UTF-8 text without NULs and not too long, line by line."""
    with path.open("rb") as handle:
        raw_lines = handle.read().split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, 1):
        origin = f"{path}:{number}"
        if len(raw) > MAX_LINE:
            shown = raw[: lines.PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
            dead_letters.put(origin, f"line longer than {MAX_LINE} bytes ({len(raw)} bytes): not a row", shown)
            continue
        if b"\0" in raw:
            shown = raw[: lines.PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
            dead_letters.put(origin, "line holds NUL bytes (a truncated or crashed download?)", shown)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            shown = raw[: lines.PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
            dead_letters.put(origin, f"not UTF-8 text: {error.reason} at byte {error.start}", shown)
            continue
        text = text.removesuffix("\r")
        yield origin, text.removeprefix(lines.BOM) if number == 1 else text


def reference_csv_rows(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, str, list[str]]]:
    for index, (origin, text) in enumerate(reference_lines(path, dead_letters)):
        fields = text.split(",") if '"' not in text else next(csv.reader([text]), [])
        if index == 0 and fields and all(field.strip()[:1].isalpha() for field in fields):
            continue
        yield origin, text, fields


def reference_ohlcv(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    for origin, text, row in reference_csv_rows(path, dead_letters):
        try:
            if len(row) != 6:
                raise InvalidBarRow(f"expected 6 columns, found {len(row)}")
            yield origin, checked_bar(STREAM, parse_timestamp(row[0]), (row[1], row[2], row[3], row[4], row[5]))
        except InvalidBarRow as error:
            dead_letters.put(origin, str(error), text)


def reference_klines(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    for origin, text, row in reference_csv_rows(path, dead_letters):
        try:
            if len(row) != 12:
                raise InvalidBarRow(f"expected 12 columns, found {len(row)}")
            open_time_ms, close_time_ms = to_ms(row[0]), to_ms(row[6])
            if close_time_ms != open_time_ms + 59_999:
                raise InvalidBarRow(f"close_time {row[6]} does not end the 1m bar opened at {row[0]}")
            fields = (row[1], row[2], row[3], row[4], row[5])
            yield origin, checked_bar(STREAM, open_time_ms, fields, row[7], row[8])
        except InvalidBarRow as error:
            dead_letters.put(origin, str(error), text)


class JsonNumber(str):
    __slots__ = ()


def reference_freqtrade(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    try:
        rows = json.loads(path.read_bytes(), parse_float=JsonNumber, parse_int=JsonNumber)
    except (ValueError, UnicodeDecodeError) as error:
        dead_letters.put(
            str(path), f"not a freqtrade JSON file: {error}", path.read_bytes()[:200].decode("utf-8", "replace")
        )
        return
    if not isinstance(rows, list):
        dead_letters.put(str(path), "not a freqtrade JSON file: expected an array of rows", type(rows).__name__)
        return
    for number, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, list) or len(row) != 6:
                raise InvalidBarRow("expected a row of 6 numbers [open_time_ms, open, high, low, close, volume]")
            if not all(isinstance(value, JsonNumber) for value in row):
                raise InvalidBarRow("every value of a row must be a JSON number")
            if not row[0].isdigit():
                raise InvalidBarRow(f"open time {row[0]} is not an integer of ms")
            yield f"{path}:row {number}", checked_bar(STREAM, to_ms(row[0]), tuple(row[1:]))
        except InvalidBarRow as error:
            dead_letters.put(f"{path}:row {number}", str(error), row)


READERS = {"ohlcv": reference_ohlcv, "binance": reference_klines, "freqtrade": reference_freqtrade}


def read_both(kind: str, paths: list[Path]) -> tuple[Any, Any]:
    """(new, reference) outcome of reading `paths` (files of one stream, in time order) with every letter's words."""
    new_letters, new_gaps = DeadLetterList(), []
    bars = list(open_sources(paths, new_letters, exchange="binance", symbol="BTC/USDT", on_gap=new_gaps.append))
    old_letters, old_gaps = DeadLetterList(), []
    rows = itertools.chain.from_iterable(READERS[kind](path, old_letters) for path in paths)
    old_bars = list(in_sequence(rows, old_letters, old_gaps.append))
    return outcome(bars, new_letters, new_gaps), outcome(old_bars, old_letters, old_gaps)


def outcome(bars: list[BarClosed], letters: DeadLetterList, gaps: list[Gap]) -> Any:
    letters_said = [(letter.origin, letter.error, json.dumps(letter.payload)) for letter in letters]
    return [bar.model_dump(mode="json") for bar in bars], letters_said, gaps


GOOD = [row.split(",") for row in SPOT_ROWS[:40]]


def bad_fields(cells: list[str]) -> st.SearchStrategy[list[str]]:
    """A row's cells with one of the ways a row goes wrong (or stays right)."""
    column = st.integers(min_value=0, max_value=len(cells) - 1)
    junk = st.sampled_from(
        ["", "x", "-5", "0", "NaN", "sNaN", "Infinity", "1E+999999", "1e-20", " 7 ", "1_000", "٣", "²", "1.5.5"]
    )
    replaced = st.tuples(column, junk).map(lambda change: [*cells[: change[0]], change[1], *cells[change[0] + 1 :]])
    return st.one_of(
        st.just(cells),
        replaced,
        st.just(cells[:-1]),
        st.just([*cells, "1"]),
        st.just([cells[0], cells[3], *cells[2:3], cells[1], *cells[4:]]),  # low above high
    )


def ohlcv_stamp(open_time_ms: int, shape: str) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(open_time_ms / 1000, tz=UTC).replace(tzinfo=None)
    shapes = {
        "space": moment.isoformat(sep=" "),
        "T": moment.isoformat(),
        "ms": str(open_time_ms),
        "us": str(open_time_ms * 1000),
        "padded": f" {moment.isoformat(sep=' ')} ",
        "fraction": moment.isoformat(sep=" ", timespec="milliseconds"),
        "zone": moment.isoformat(sep=" ") + "+01:00",
        "date": moment.date().isoformat(),
        "bad": moment.isoformat(sep=" ").replace(":", "-"),
        "hour 24": moment.isoformat(sep=" ").replace(moment.strftime("%H:"), "24:", 1),
    }
    return shapes[shape]


def csv_row(kind: str, index: int, shape: str, shift_ms: int) -> list[str]:
    cells = GOOD[index]
    if kind == "ohlcv":
        return [ohlcv_stamp(int(cells[0]) + shift_ms, shape), *cells[1:6]]
    return [str(int(cells[0]) + shift_ms), *cells[1:6], str(int(cells[6]) + shift_ms), *cells[7:]]


@st.composite
def csv_file(draw: st.DrawFn, kind: str, first: int) -> bytes:
    """A file whose first data row is the good row `first` (so files sort by it), then rows of any kind; now and
    then all of them off the minute."""
    shift_ms = draw(st.sampled_from([0, 0, 0, 30_000]))
    picks = draw(st.lists(st.integers(min_value=first + 1, max_value=len(GOOD) - 1), max_size=30))
    if draw(st.booleans()):
        picks.sort()  # mostly forward in time, with gaps and repeats; unsorted: back in time too
    header = "timestamp,open,high,low,close,volume" if kind == "ohlcv" else ",".join(["column"] * 12)
    lines_out = [header.encode()] if draw(st.booleans()) else []
    lines_out.append(",".join(csv_row(kind, first, "space", shift_ms)).encode())
    after_first = len(lines_out)
    shapes = st.sampled_from(["space"] * 12 + ["T", "ms", "us", "padded", "fraction", "zone", "date", "bad", "hour 24"])
    for index in picks:
        cells = csv_row(kind, index, draw(shapes), shift_ms)
        lines_out.append(",".join(draw(bad_fields(cells)) if draw(st.integers(0, 4)) == 0 else cells).encode())
    noise = st.sampled_from([b"", b"\xff\xfe", b"\0\0", b"\xff\0", b"1" * (MAX_LINE + 5), b'"1",2', "ünï".encode()])
    for _ in range(draw(st.integers(0, 3))):
        lines_out.insert(draw(st.integers(after_first, len(lines_out))), draw(noise))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    body = ending.join(lines_out) + (ending if draw(st.booleans()) else b"")
    return (b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b"") + body


@pytest.mark.parametrize("kind", ["ohlcv", "binance"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), block_bytes=st.sampled_from([64, 200, 1 << 20]))
def test_csv_files_read_as_the_reference_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, data: st.DataObject, block_bytes: int
) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", block_bytes)
    paths = []
    for first in range(data.draw(st.integers(1, 3))):  # files of one stream, each starting later than the last
        paths.append(tmp_path / f"BTCUSDT-1m-part{first}.csv")
        paths[-1].write_bytes(data.draw(csv_file(kind, first)))
    new, reference = read_both(kind, paths)
    assert new == reference


def json_number_texts(cells: list[str]) -> st.SearchStrategy[str]:
    wrong = st.sampled_from(['"x"', "null", "true", "[]", '"1"', "1.5e3", "-2", "1E+999999"])
    row = st.one_of(
        st.just(cells),
        st.tuples(st.integers(0, 5), wrong).map(lambda c: [*cells[: c[0]], c[1], *cells[c[0] + 1 :]]),
        st.just(cells[:5]),
    )
    return row.map(lambda values: "[" + ",".join(values) + "]")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_freqtrade_files_read_as_the_reference_reads_them(tmp_path: Path, data: st.DataObject) -> None:
    picks = data.draw(st.lists(st.integers(min_value=0, max_value=len(GOOD) - 1), min_size=1, max_size=30))
    if data.draw(st.booleans()):
        picks.sort()
    rows = []
    for index in picks:
        cells = GOOD[index][:6]
        rows.append(
            data.draw(json_number_texts(cells)) if data.draw(st.integers(0, 4)) == 0 else f"[{','.join(cells)}]"
        )
    body = "[" + ", ".join(rows) + "]"
    body = data.draw(st.sampled_from([body, body, body[:-1], '[1, "x", []]']))
    path = tmp_path / "BTC_USDT-1m.json"
    path.write_text(body)
    new, reference = read_both("freqtrade", [path])
    assert new == reference


def test_the_reference_is_not_blind(tmp_path: Path) -> None:
    """A file with every kind of trouble: the two readers agree on it, and it does hold bars, letters and gaps."""
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    rows = [*SPOT_ROWS[:3], "x", SPOT_ROWS[5], SPOT_ROWS[4], SPOT_ROWS[5]]
    path.write_bytes("\n".join(rows).encode() + b"\n\xff\n")
    new, reference = read_both("binance", [path])
    assert new == reference
    bars, letters, gaps = new
    assert (len(bars), len(letters), len(gaps)) == (4, 3, 1)


@pytest.mark.parametrize("other", ["2023-01-21 00:01:00+00:30", "2023-01-21 00:01:00.5", "2023-01-21 24:00:00"])
def test_only_the_plain_date_time_shape_is_looked_up(tmp_path: Path, other: str) -> None:
    """A date-time of another shape (a zone, a fraction) is read in full and never taught to the day's lookup: the
    day it names may not be the day of its text."""
    prices = ",".join(GOOD[0][1:6])
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text(f"2023-01-21 00:00:00,{prices}\n{other},{prices}\n2023-01-21 00:00:00,{prices}\n")
    new, reference = read_both("ohlcv", [path])
    assert new == reference
    assert len(new[0]) == 1
