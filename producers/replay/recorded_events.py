"""JSON Lines of events recorded by stds (`--record`): the bars are replayed, the rest is regenerated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from events.codec import InvalidEvent, decode
from events.dead_letters import DeadLetters
from events.models import BarClosed


def read_recorded_bars(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    with path.open("rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip() or b'"BarClosed"' not in line:
                continue  # orders and fills are outputs: a replay makes them again
            origin = f"{path}:{line_number}"
            try:
                envelope = decode(line, origin)
            except InvalidEvent as error:
                dead_letters.put(origin, str(error), line.decode("utf-8", "replace").rstrip("\n"))
                continue
            if isinstance(envelope.detail, BarClosed):
                yield origin, envelope.detail


def is_recording(path: Path) -> bool:
    with path.open("rb") as handle:
        first = handle.readline().strip()
    try:
        return isinstance(orjson.loads(first), dict) if first else path.suffix in {".jsonl", ".json"}
    except orjson.JSONDecodeError:
        return False
