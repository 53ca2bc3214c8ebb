"""JSON Lines of events recorded by stds (`--record`, or an AWS deployment's minute batches): the bars are
replayed, one by one, and the rest is regenerated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from events.codec import InvalidEvent, decode
from events.dead_letters import DeadLetters
from events.models import EVENT_TYPES, BarClosed, BarsClosed
from producers.replay.lines import MAX_LINE_BYTES, line_runs


def read_recorded_bars(path: Path, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    for first, lines in line_runs(path, dead_letters):
        for line_number, line in enumerate(lines, first):
            if line.strip():
                yield from _bars_of(line, f"{path}:{line_number}", dead_letters)


def _bars_of(line: str, origin: str, dead_letters: DeadLetters) -> Iterator[tuple[str, BarClosed]]:
    if '"BarClosed"' not in line and '"BarsClosed"' not in line:
        if not _is_other_event(line):
            dead_letters.put(origin, "not an stds event (no known detail-type)", line)
        return  # orders and fills are outputs: a replay makes them again
    try:
        envelope = decode(line, origin)
    except InvalidEvent as error:
        dead_letters.put(origin, str(error), line)
        return
    if isinstance(envelope.detail, BarClosed):
        yield origin, envelope.detail
    elif isinstance(envelope.detail, BarsClosed):  # a minute batch, as the streamer publishes on AWS
        for bar in envelope.detail.bar_events():
            yield origin, bar


def _is_other_event(line: str) -> bool:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(document, dict):
        return False
    detail_type = document.get("detail-type")
    return isinstance(detail_type, str) and detail_type in EVENT_TYPES


def is_recording(path: Path) -> bool:
    with path.open("rb") as handle:
        first = handle.readline(MAX_LINE_BYTES).strip()
    try:
        return isinstance(orjson.loads(first), dict) if first else path.suffix in {".jsonl", ".json"}
    except orjson.JSONDecodeError:
        return False
