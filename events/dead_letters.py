"""Dead letters: input that could not be used, kept whole with the reason and where it came from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    origin: str  # file:line, stream name, event id or subscription that refused it
    error: str
    payload: Any  # the raw input as received (text or a JSON-able object), never a secret
    time: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "error": self.error, "payload": self.payload, "time": self.time}


class DeadLetters(Protocol):
    def put(self, origin: str, error: str, payload: Any) -> None: ...


class DeadLetterList:
    """In-memory dead letters, for tests and for counting in summaries."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def put(self, origin: str, error: str, payload: Any) -> None:
        self.letters.append(DeadLetter(origin, error, payload, _now()))

    def __iter__(self) -> Iterator[DeadLetter]:
        return iter(self.letters)

    def __len__(self) -> int:
        return len(self.letters)


DEAD_LETTERS_FILE = "dead-letters.jsonl"  # beside a run's report: replay, run, sweep and the dashboard's reader


class DeadLetterFile:
    """One JSON line per dead letter, flushed at once so a crash keeps them. With `append=False` the
    file starts over at the first letter, and a run that has none removes an earlier run's file.

    A letter that cannot be written (read-only or full disk) goes whole into an error log line instead:
    the caller's work goes on, and a disk error is never mistaken for its own failure (a lost connection).
    """

    def __init__(self, path: Path, *, append: bool = True) -> None:
        self.path = path
        self.count = 0
        self.unwritten = 0
        self._append = append
        self._file: IO[bytes] | None = None

    def put(self, origin: str, error: str, payload: Any) -> None:
        letter = orjson.dumps(DeadLetter(origin, error, payload, _now()).as_dict(), default=str)
        self.count += 1
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab" if self._append else "wb")
            self._file.write(letter + b"\n")
            self._file.flush()
        except OSError as failure:
            self.unwritten += 1
            log.error("dead letter not written to %s (%s); kept in this line: %s", self.path, failure, letter.decode())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif not self._append and not self.count:
            self.path.unlink(missing_ok=True)


class LoggedDeadLetters:
    """One structured ERROR line per dead letter: where a Lambda function keeps them (CloudWatch Logs,
    searchable by `dead_letter`), since it has no file and a redelivery would only repeat the refusal."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[logging.Logger] | Any) -> None:
        self._logger = logger
        self.count = 0

    def put(self, origin: str, error: str, payload: Any) -> None:
        self.count += 1
        self._logger.error("dead letter", extra={"dead_letter": DeadLetter(origin, error, payload, _now()).as_dict()})


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
