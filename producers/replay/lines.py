"""Lines of a recorded file as text, whatever bytes it holds: a line that is not text is dead-lettered
with its file:line, and the file goes on (a crashed download must not end a month's replay)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from events.dead_letters import DeadLetters

MAX_LINE_BYTES = 64 * 1024  # a bar row is ~150 bytes, a recorded event ~700; a longer line is not a row
PAYLOAD_BYTES = 2_000  # how much of a refused line a dead letter keeps
BOM = "\ufeff"


def text_lines(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, str]]:
    """(origin `file:line`, text without the line break) for every line that is UTF-8 text without NULs.
    Lines are read at most MAX_LINE_BYTES at a time, so a file without line breaks is never read whole."""
    with path.open("rb") as handle:
        line_number = 0
        for chunk in iter(lambda: handle.readline(MAX_LINE_BYTES), b""):
            line_number += 1
            origin = f"{path}:{line_number}"
            if not chunk.endswith(b"\n") and len(chunk) == MAX_LINE_BYTES:
                skipped = _skip_rest_of_line(handle)
                dead_letters.put(
                    origin,
                    f"line longer than {MAX_LINE_BYTES} bytes ({len(chunk) + skipped} bytes): not a row",
                    _shown(chunk),
                )
                continue
            if b"\0" in chunk:
                dead_letters.put(origin, "line holds NUL bytes (a truncated or crashed download?)", _shown(chunk))
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as error:
                dead_letters.put(origin, f"not UTF-8 text: {error.reason} at byte {error.start}", _shown(chunk))
                continue
            if line_number == 1:
                text = text.removeprefix(BOM)
            yield origin, text.rstrip("\r\n")


def csv_fields(text: str) -> list[str]:
    """Split one CSV row; the plain split is the common case (numbers never need quoting)."""
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def is_header(fields: list[str]) -> bool:
    """A header names its columns: every field starts with a letter. A first row with a number in it
    is data, and is checked (and refused with its line) like any other row."""
    return bool(fields) and all(field.strip()[:1].isalpha() for field in fields)


def _skip_rest_of_line(handle: IO[bytes]) -> int:
    skipped = 0
    while True:
        more = handle.readline(MAX_LINE_BYTES)
        skipped += len(more)
        if not more or more.endswith(b"\n"):
            return skipped


def _shown(chunk: bytes) -> str:
    return chunk[:PAYLOAD_BYTES].decode("utf-8", "replace").rstrip("\r\n")
