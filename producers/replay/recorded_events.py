"""JSON Lines of events recorded by stds (`--record`): the bars are replayed, the rest is regenerated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from events.codec import InvalidEvent, decode
from events.dead_letters import DeadLetters
from events.models import EVENT_TYPES, BarClosed


def read_recorded_bars(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    with path.open("rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            origin = f"{path}:{line_number}"
            if b'"BarClosed"' not in line:
                if not _is_other_event(line):
                    dead_letters.put(origin, "not an stds event (no known detail-type)", _text(line))
                continue  # orders and fills are outputs: a replay makes them again
            try:
                envelope = decode(line, origin)
            except InvalidEvent as error:
                dead_letters.put(origin, str(error), _text(line))
                continue
            if isinstance(envelope.detail, BarClosed):
                yield origin, envelope.detail


def _is_other_event(line: bytes) -> bool:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and document.get("detail-type") in EVENT_TYPES


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace").rstrip("\n")


def is_recording(path: Path) -> bool:
    with path.open("rb") as handle:
        first = handle.readline().strip()
    try:
        return isinstance(orjson.loads(first), dict) if first else path.suffix in {".jsonl", ".json"}
    except orjson.JSONDecodeError:
        return False
