"""Lines of a recorded file as text, whatever bytes it holds: a line that is not text is dead-lettered
with its file:line, and the file goes on (a crashed download must not end a month's replay)."""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator
from operator import methodcaller
from pathlib import Path

from events.dead_letters import DeadLetters

BLOCK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 * 1024  # a bar row is ~150 bytes, a recorded event ~700; a longer line is not a row
PAYLOAD_BYTES = 2_000  # how much of a refused line a dead letter keeps
BOM = "\ufeff"

LineRun = tuple[int, list[str]]  # (number of the first line, the texts of consecutive lines)


def line_runs(path: Path, dead_letters: DeadLetters) -> Iterator[LineRun]:
    """Runs of consecutive lines that are UTF-8 text without NULs, without their line breaks. A line that is not
    is dead-lettered with its file:line once the lines before it are read, so letters keep the file's order.
    The file is read in blocks, so a line (or a file) without line breaks is never held whole; a block of good
    lines is one run, and its origins are only spelled out for a line something is wrong with."""
    name = str(path)
    line_number = 0
    partial = b""  # the unfinished last line of the blocks read so far
    overlong: bytes | None = None  # the start of a line past MAX_LINE_BYTES, skipped up to its line break
    skipped = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
            data = partial + block
            if overlong is not None:
                end = data.find(b"\n")
                if end < 0:
                    skipped, partial = skipped + len(data), b""
                    continue
                line_number += 1
                _refuse_overlong(dead_letters, f"{name}:{line_number}", overlong, skipped + end)
                overlong, data = None, data[end + 1 :]
            cut = data.rfind(b"\n")
            if cut >= 0:
                complete, partial = data[:cut], data[cut + 1 :]
                line_number += yield from _runs(complete, line_number + 1, name, dead_letters)
            else:
                partial = data
            if len(partial) > MAX_LINE_BYTES:
                overlong, skipped, partial = partial, len(partial), b""
    if overlong is not None:
        _refuse_overlong(dead_letters, f"{name}:{line_number + 1}", overlong, skipped)
    elif partial:
        yield from _runs(partial, line_number + 1, name, dead_letters)


def _runs(complete: bytes, first: int, name: str, dead_letters: DeadLetters) -> Generator[LineRun, None, int]:
    """The lines of `complete` (whole lines, the first numbered `first`): one run when all are good. Returns how
    many lines there were."""
    try:
        text = complete.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"  # not all UTF-8: sorted out line by line below
    if "\0" not in text:
        lines = text.split("\n")
        if len(complete) <= MAX_LINE_BYTES or max(map(len, lines)) <= MAX_LINE_BYTES:
            if "\r" in text:
                lines = [line.removesuffix("\r") for line in lines]
            if first == 1:
                lines[0] = lines[0].removeprefix(BOM)
            yield first, lines
            return len(lines)
    return (yield from _checked_runs(complete, first, name, dead_letters))


def _checked_runs(complete: bytes, first: int, name: str, dead_letters: DeadLetters) -> Generator[LineRun, None, int]:
    run_first, run = first, []
    lines = _lines(complete)
    for line_number, line in enumerate(lines, first):
        if isinstance(line, str) and len(line) <= MAX_LINE_BYTES and "\0" not in line:
            run.append(_clean(line, line_number))
            continue
        if run:
            yield run_first, run
        _refuse(line, f"{name}:{line_number}", dead_letters)
        run_first, run = line_number + 1, []
    if run:
        yield run_first, run
    return len(lines)


def _lines(complete: bytes) -> list[str] | list[str | bytes]:
    """Decoded lines; where the block is not all UTF-8, the lines that are not stay bytes."""
    try:
        return complete.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return [_decoded_or_raw(raw) for raw in complete.split(b"\n")]


def _decoded_or_raw(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _clean(text: str, line_number: int) -> str:
    text = text.removesuffix("\r")
    return text.removeprefix(BOM) if line_number == 1 else text


def _refuse(line: str | bytes, origin: str, dead_letters: DeadLetters) -> None:
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if len(raw) > MAX_LINE_BYTES:
        _refuse_overlong(dead_letters, origin, raw, len(raw))
    elif b"\0" in raw:
        dead_letters.put(origin, "line holds NUL bytes (a truncated or crashed download?)", _shown(raw))
    else:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            dead_letters.put(origin, f"not UTF-8 text: {error.reason} at byte {error.start}", _shown(raw))


def _refuse_overlong(dead_letters: DeadLetters, origin: str, start: bytes, length: int) -> None:
    dead_letters.put(origin, f"line longer than {MAX_LINE_BYTES} bytes ({length} bytes): not a row", _shown(start))


def csv_runs(path: Path, dead_letters: DeadLetters) -> Iterator[LineRun]:
    """`line_runs` of the data rows: a first row of column names (e.g. the UM-futures archives' header) is
    skipped, anything else is data and is checked like every row."""
    runs = line_runs(path, dead_letters)
    for first, texts in runs:
        yield (first + 1, texts[1:]) if is_header(csv_fields(texts[0])) else (first, texts)
        break
    yield from runs


def csv_fields(text: str) -> list[str]:
    """Split one CSV row; the plain split is the common case (numbers never need quoting)."""
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def csv_columns(texts: list[str], count: int) -> list[list[str]] | None:
    """The columns of these rows (one or more) when each has `count` plain fields (no quotes), else None. All rows
    are split in one go, without a list per row."""
    joined = ",".join(texts)
    if '"' in joined or set(map(_COMMAS, texts)) != {count - 1}:
        return None
    fields = joined.split(",")
    return [fields[column::count] for column in range(count)]


_COMMAS = methodcaller("count", ",")


def is_header(fields: list[str]) -> bool:
    """A header names its columns: every field starts with a letter. A first row with a number in it
    is data, and is checked (and refused with its line) like any other row."""
    return bool(fields) and all(field.strip()[:1].isalpha() for field in fields)


def _shown(chunk: bytes) -> str:
    return chunk[:PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
