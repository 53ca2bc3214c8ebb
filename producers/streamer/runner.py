"""Running a streamer until SIGTERM/SIGINT (Fargate's stop), a duration, or a condition; then a clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from producers.streamer.supervisor import Streamer, StreamerSettings


@dataclass(frozen=True)
class ExchangeStream:
    """What a streamer reads: one exchange's candle streams, until stopped or for `duration_s`."""

    exchange: str
    settings: StreamerSettings
    duration_s: float | None


async def stream_until_stopped(
    streamer: Streamer,
    on_tick: Callable[[], None],
    duration_s: float | None = None,
    until: Callable[[int], bool] | None = None,
) -> None:
    """`on_tick` runs about every 0.2 s and once after the streamer stopped (commit state, report health)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, streamer.stop)
    task = asyncio.create_task(streamer.run())
    deadline = time.monotonic() + duration_s if duration_s else None
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            on_tick()
            if (deadline and time.monotonic() >= deadline) or (until and until(streamer.published)):
                streamer.stop()
        await task
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        on_tick()
