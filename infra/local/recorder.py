"""Records every event the local bus routes as JSON Lines, the format `stds replay` reads back."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from events.codec import encode
from events.envelope import Envelope


class EventRecorder:
    def __init__(self, path: Path, *, append: bool = True) -> None:
        """`append=False` starts the file over (a replay re-records every bar it reads)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = 0
        self._file: IO[bytes] = path.open("ab" if append else "wb")

    def __call__(self, envelope: Envelope) -> None:
        self._file.write(encode(envelope) + b"\n")
        self.count += 1

    def close(self) -> None:
        self._file.close()
