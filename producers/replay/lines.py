"""Lines of a recorded file as text, whatever bytes it holds: a line that is not text is dead-lettered
with its file:line, and the file goes on (a crashed download must not end a month's replay)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from events.dead_letters import DeadLetters

BLOCK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 * 1024  # a bar row is ~150 bytes, a recorded event ~700; a longer line is not a row
PAYLOAD_BYTES = 2_000  # how much of a refused line a dead letter keeps
BOM = "\ufeff"


def text_lines(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, str]]:
    """(origin `file:line`, text without the line break) for every line that is UTF-8 text without NULs.
    The file is read in blocks, so a line (or a file) without line breaks is never held whole."""
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
            complete, partial = (data[:cut], data[cut + 1 :]) if cut >= 0 else (b"", data)
            if cut >= 0:
                for text in _lines(complete):
                    line_number += 1
                    origin = f"{name}:{line_number}"
                    if isinstance(text, str) and len(text) <= MAX_LINE_BYTES and "\0" not in text:
                        yield origin, _clean(text, line_number)
                    else:
                        _refuse(text, origin, dead_letters)
            if len(partial) > MAX_LINE_BYTES:
                overlong, skipped, partial = partial, len(partial), b""
    if overlong is not None:
        _refuse_overlong(dead_letters, f"{name}:{line_number + 1}", overlong, skipped)
    elif partial:
        line_number += 1
        origin = f"{name}:{line_number}"
        try:
            text = partial.decode("utf-8")
        except UnicodeDecodeError:
            _refuse(partial, origin, dead_letters)
            return
        if len(partial) <= MAX_LINE_BYTES and "\0" not in text:
            yield origin, _clean(text, line_number)
        else:
            _refuse(partial, origin, dead_letters)


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
    if text.endswith("\r"):
        text = text[:-1]
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


def csv_rows(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, str, list[str]]]:
    """(origin, text, fields) of each data row: a first row of column names (e.g. the UM-futures
    archives' header) is skipped, anything else is data and is checked like every row."""
    first = True
    for origin, text in text_lines(path, dead_letters):
        fields = csv_fields(text)
        if first:
            first = False
            if is_header(fields):
                continue
        yield origin, text, fields


def csv_fields(text: str) -> list[str]:
    """Split one CSV row; the plain split is the common case (numbers never need quoting)."""
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def is_header(fields: list[str]) -> bool:
    """A header names its columns: every field starts with a letter. A first row with a number in it
    is data, and is checked (and refused with its line) like any other row."""
    return bool(fields) and all(field.strip()[:1].isalpha() for field in fields)


def _shown(chunk: bytes) -> str:
    return chunk[:PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
