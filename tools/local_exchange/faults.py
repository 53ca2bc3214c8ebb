"""What can go wrong on the wire, decided by a seeded random generator so a failing run can be repeated."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    NONE = "none"
    DROP = "drop"  # close the connection abruptly
    STALL = "stall"  # keep the connection open but send nothing more on it
    MALFORMED = "malformed"  # send garbage instead of the message
    TRUNCATED = "truncated"  # send the first part of the message only
    REPEAT = "repeat"  # send the message twice
    REORDER = "reorder"  # hold the message back and send it after the next one


@dataclass(frozen=True)
class FaultPlan:
    """Probability of each fault per message sent, and how many connection attempts are refused after a drop
    (counted, not timed: the same plan refuses the same attempts however fast the machine runs)."""

    drop: float = 0.0
    stall: float = 0.0
    malformed: float = 0.0
    truncated: float = 0.0
    repeat: float = 0.0
    reorder: float = 0.0
    refuse_after_drop: int = 0
    seed: int = 0

    @classmethod
    def chaos(cls, rate: float = 0.004, seed: int = 7, refuse_after_drop: int = 2) -> FaultPlan:
        return cls(rate, rate / 2, rate, rate, rate * 2, rate * 2, refuse_after_drop, seed)

    def picker(self) -> FaultPicker:
        return FaultPicker(self)


class FaultPicker:
    def __init__(self, plan: FaultPlan) -> None:
        self._random = random.Random(plan.seed)
        self._thresholds: list[tuple[float, Fault]] = []
        total = 0.0
        for fault, probability in (
            (Fault.DROP, plan.drop),
            (Fault.STALL, plan.stall),
            (Fault.MALFORMED, plan.malformed),
            (Fault.TRUNCATED, plan.truncated),
            (Fault.REPEAT, plan.repeat),
            (Fault.REORDER, plan.reorder),
        ):
            total += probability
            self._thresholds.append((total, fault))

    def next(self) -> Fault:
        draw = self._random.random()
        for threshold, fault in self._thresholds:
            if draw < threshold:
                return fault
        return Fault.NONE
