"""Delivering events in batches to a service that may refuse some of them (PutEvents, PublishBatch).

Only the refused entries are sent again, after an exponential backoff with jitter, until a time
limit; whatever is still undelivered then is raised with the events themselves, never dropped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from events.envelope import Envelope

Entry = TypeVar("Entry")


class Undelivered(RuntimeError):
    """These envelopes were not accepted by the bus; the caller keeps them (retry, dead-letter)."""

    def __init__(self, message: str, envelopes: Sequence[Envelope], errors: Sequence[str]) -> None:
        super().__init__(message)
        self.envelopes = list(envelopes)
        self.errors = list(errors)


@dataclass(frozen=True)
class RetryPolicy:
    give_up_after_s: float = 20.0  # under a Lambda's timeout, so the failure surfaces as an error
    base_delay_s: float = 0.05
    max_delay_s: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        step = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt, 16))
        return step * self.rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Limits:
    max_entries: int  # per call
    max_bytes: int  # per call, and so per entry


def batches(sizes: Sequence[int], limits: Limits) -> list[list[int]]:
    """Consecutive runs of indexes into `sizes`, each within both limits (every size must fit alone)."""
    runs: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if current and (len(current) == limits.max_entries or current_bytes + size > limits.max_bytes):
            runs.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        runs.append(current)
    return runs


TRANSIENT_CODES = {"ThrottlingException", "Throttling", "InternalException", "InternalFailure", "ServiceUnavailable"}


def is_transient(error: Exception) -> bool:
    """Worth another try: throttling, a service hiccup, or the connection itself."""
    if isinstance(error, ConnectionError | ReadTimeoutError):
        return True
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in TRANSIENT_CODES


# a batch call returns, for each entry it refused, (index in the batch, error code and message)
SendBatch = Callable[[list[Entry]], list[tuple[int, str]]]


def deliver(
    envelopes: Sequence[Envelope],
    entries: Sequence[Entry],
    *,
    sizes: Sequence[int],
    limits: Limits,
    send: SendBatch[Entry],
    retry: RetryPolicy,
) -> None:
    """Send every entry (entries[i] carries envelopes[i], sizes[i] bytes by the service's rule) at least
    once, or raise `Undelivered` with the envelopes that were not accepted."""
    oversized = [n for n, size in enumerate(sizes) if size > limits.max_bytes]
    if oversized:
        raise Undelivered(
            f"{len(oversized)} event(s) over the bus's {limits.max_bytes}-byte entry limit",
            [envelopes[n] for n in oversized],
            [f"{envelopes[n].id}: {sizes[n]} bytes" for n in oversized],
        )
    waiting = list(range(len(entries)))  # indexes of entries still to deliver
    deadline = retry.clock() + retry.give_up_after_s
    attempt = 0
    while True:
        refused: list[int] = []
        errors: list[str] = []
        for run in batches([sizes[n] for n in waiting], limits):
            indexes = [waiting[k] for k in run]
            try:
                failures = send([entries[n] for n in indexes])
            except Exception as error:
                if not is_transient(error):
                    raise
                refused.extend(indexes)
                errors.append(f"batch of {len(indexes)}: {error}")
                continue
            for position, reason in failures:
                refused.append(indexes[position])
                errors.append(f"{envelopes[indexes[position]].id}: {reason}")
        if not refused:
            return
        waiting = sorted(refused)  # keep publish order among the retried
        if retry.clock() >= deadline:
            raise Undelivered(
                f"{len(waiting)} event(s) still refused after {retry.give_up_after_s:.0f}s: {'; '.join(errors[:3])}",
                [envelopes[n] for n in waiting],
                errors,
            )
        retry.sleep(retry.delay(attempt))
        attempt += 1
