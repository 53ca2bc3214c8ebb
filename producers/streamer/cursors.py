"""Where the streamer remembers each stream's last published bar, so a restarted task resumes there."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from events.streams import StreamKey


class CursorStore(Protocol):
    def load(self) -> dict[StreamKey, int]: ...

    def save(self, cursors: dict[StreamKey, int]) -> None: ...


class CursorFile:
    """A small JSON file, replaced atomically (write, fsync, rename) so a crash never leaves half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[StreamKey, int]:
        if not self.path.exists():
            return {}
        document = orjson.loads(self.path.read_bytes())
        return {StreamKey.from_text(key): int(value) for key, value in document.items()}

    def save(self, cursors: dict[StreamKey, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(orjson.dumps({key.as_text(): value for key, value in sorted(cursors.items())}))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


class DynamoCursorItem:
    """On AWS: one item in the control table (a Fargate task has no disk that survives a restart)."""

    def __init__(self, client: Any, table: str, name: str = "streamer-cursors") -> None:
        self.client = client
        self.table = table
        self.key = {"name": {"S": name}}

    def load(self) -> dict[StreamKey, int]:
        answer = self.client.get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        if "Item" not in answer:
            return {}
        document = orjson.loads(answer["Item"]["value"]["S"])
        return {StreamKey.from_text(key): int(value) for key, value in document.items()}

    def save(self, cursors: dict[StreamKey, int]) -> None:
        value = orjson.dumps({key.as_text(): value for key, value in sorted(cursors.items())}).decode()
        self.client.put_item(TableName=self.table, Item={**self.key, "value": {"S": value}})


class FlooredCursors:
    """Saves each stream's cursor no further than the floor `floors()` gives it (streams without one as they are):
    where another part still holds bars of that stream back, a restart must resume there. A floor of a stream the
    cursors do not cover (a higher timeframe made from the minutes) is saved too, as that stream's cursor: its bars
    after it were not all delivered, and a restart makes them again from there (`seeding`)."""

    def __init__(self, store: CursorStore, floors: Callable[[], dict[StreamKey, int]]) -> None:
        self.store = store
        self.floors = floors

    def load(self) -> dict[StreamKey, int]:
        return self.store.load()

    def save(self, cursors: dict[StreamKey, int]) -> None:
        floors = self.floors()
        self.store.save(
            {**floors, **{stream: min(cursor, floors.get(stream, cursor)) for stream, cursor in cursors.items()}}
        )
