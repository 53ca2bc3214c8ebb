"""Walk-forward windows: each fold trains on one span of bars and is tested on the span right after it.

Spans are half-open in bar open time, [start_ms, end_ms): a bar belongs to exactly one side of a fold."""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
WALK_FORWARD_SYNTAX = "expected train=DURATION,test=DURATION[,step=DURATION] with durations like 30d, 12h, 90m, 2w"


class WindowError(ValueError):
    """Windows that cannot be laid on the data; the message says which and what would fit."""


@dataclass(frozen=True, slots=True)
class Span:
    start_ms: int
    end_ms: int  # exclusive

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise WindowError(f"a window must end after it starts ({self.start_ms} → {self.end_ms})")


@dataclass(frozen=True, slots=True)
class Fold:
    number: int  # 1, 2, ... in time order
    train: Span
    test: Span | None  # None: a plain sweep over one span, nothing held out


@dataclass(frozen=True, slots=True)
class WalkForward:
    train_ms: int
    test_ms: int
    step_ms: int  # how far each fold moves; the test length by default, so test spans tile without overlap


def duration_ms(text: str, origin: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match is None or int(match[1]) == 0:
        raise WindowError(f"{origin}: {text!r} is not a duration; {WALK_FORWARD_SYNTAX}")
    return int(match[1]) * UNIT_MS[match[2]]


def parse_walk_forward(text: str) -> WalkForward:
    """`train=30d,test=7d[,step=7d]`."""
    origin = f"--walk-forward {text!r}"
    parts: dict[str, int] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in ("train", "test", "step") or key in parts:
            raise WindowError(f"{origin}: {WALK_FORWARD_SYNTAX}")
        parts[key] = duration_ms(value, origin)
    if "train" not in parts or "test" not in parts:
        raise WindowError(f"{origin}: {WALK_FORWARD_SYNTAX}")
    return WalkForward(parts["train"], parts["test"], parts.get("step", parts["test"]))


def rolling_folds(spec: WalkForward, first_ms: int, end_ms: int) -> list[Fold]:
    """Folds from the first bar on: train [s, s+train), test [s+train, s+train+test), s moving by step, for as
    long as a whole test span fits before `end_ms` (the end of the last bar)."""
    folds: list[Fold] = []
    start = first_ms
    while start + spec.train_ms + spec.test_ms <= end_ms:
        train_end = start + spec.train_ms
        folds.append(Fold(len(folds) + 1, Span(start, train_end), Span(train_end, train_end + spec.test_ms)))
        start += spec.step_ms
    if not folds:
        days = (end_ms - first_ms) / UNIT_MS["d"]
        raise WindowError(
            f"the bars span {days:.1f} days, shorter than one train + test window "
            f"({(spec.train_ms + spec.test_ms) / UNIT_MS['d']:.1f} days): shorten them or give more bars"
        )
    return folds


def explicit_folds(trains: list[Span], tests: list[Span]) -> list[Fold]:
    """`--train A..B --test C..D`, repeated in pairs; each test must start at or after its train's end."""
    if len(trains) != len(tests):
        raise WindowError(f"{len(trains)} --train and {len(tests)} --test ranges: give them in pairs")
    for number, (train, test) in enumerate(zip(trains, tests, strict=True), start=1):
        if test.start_ms < train.end_ms:
            raise WindowError(f"fold {number}: the test range starts before its train range ends (it would leak)")
    return [Fold(number, train, test) for number, (train, test) in enumerate(zip(trains, tests, strict=True), 1)]


def whole(first_ms: int, end_ms: int) -> list[Fold]:
    """A plain sweep: one fold, all the bars, nothing held out."""
    return [Fold(1, Span(first_ms, end_ms), None)]
