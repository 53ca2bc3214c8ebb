"""Sampled tracing from the head: one bar batch every N minutes carries an X-Ray trace header.

EventBridge passes an entry's `TraceHeader` on to its targets; functions in X-Ray PassThrough mode trace an
invocation only when its event carries one. So the streamer decides what is traced, once per sampled minute,
instead of every function tracing every call. SNS has no per-message trace header: on the SNS variant nothing
is traced from the head (the functions' own sampling rule applies).
"""

from __future__ import annotations

import hashlib

from events.envelope import Envelope
from events.models import BarsClosed

MINUTE_MS = 60_000
REMEMBERED_MINUTES = 8


class MinuteTraceSampler:
    """Gives the first batch published for every `every_minutes`-th minute a sampled X-Ray trace header."""

    def __init__(self, every_minutes: int) -> None:
        if every_minutes < 1:
            raise ValueError(f"--trace-every: a number of minutes ≥ 1 (0 turns tracing off), got {every_minutes}")
        self.every_minutes = every_minutes
        self._traced: dict[tuple[str, str, int], str] = {}  # sampled minute → the id of its traced batch

    def __call__(self, envelope: Envelope) -> str | None:
        batch = envelope.detail
        if not isinstance(batch, BarsClosed) or batch.open_time_ms // MINUTE_MS % self.every_minutes:
            return None
        minute = (batch.exchange, batch.timeframe, batch.open_time_ms)
        traced = self._traced.setdefault(minute, envelope.id)
        if len(self._traced) > REMEMBERED_MINUTES:
            del self._traced[min(self._traced, key=lambda key: key[2])]
        return trace_header(envelope) if traced == envelope.id else None


def trace_header(envelope: Envelope) -> str:
    """`Root=1-<epoch seconds, 8 hex>-<24 hex>;Sampled=1`. The 96 bits come from the event id, so a batch
    sent again (a refusal retried, a restart re-publishing it) joins the trace it started."""
    seconds = int(envelope.time.timestamp())
    identifier = hashlib.blake2b(envelope.id.encode(), digest_size=12).hexdigest()
    return f"Root=1-{seconds:08x}-{identifier};Sampled=1"
