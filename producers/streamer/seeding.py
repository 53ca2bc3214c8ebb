"""After a restart, the higher bars still forming: their minutes already published are read over REST into the
aggregator only, so it makes those bars whole without the minutes going out again (on AWS each would wake every
1m strategy: ARCHITECTURE invariant 8); the streamer then publishes from its cursor as ever."""

from __future__ import annotations

import logging

from events.aggregation import BarAggregator
from events.models import BarClosed
from events.timeframes import timeframe_ms
from producers.streamer.supervisor import Streamer

log = logging.getLogger(__name__)


async def seed_forming_bars(streamer: Streamer, aggregator: BarAggregator) -> int:
    """Before the streamer runs: each stream's minutes from the start of its oldest period still forming to its
    cursor, into `aggregator` (what they close was published before the restart). Where REST fails, the cursor
    goes back to that start instead, and those minutes are published again (downstream knows them by their ids):
    a bar is never lost to save a call. Returns the minutes seeded."""
    seeded = 0
    for stream, cursor_ms in sorted(streamer.gate.cursors.items()):
        first_ms = aggregator.forming_from(stream, cursor_ms)
        minutes: list[BarClosed] = []
        if first_ms is not None:
            try:
                minutes = await streamer.backfill.closed_bars(stream.symbol, stream.timeframe, first_ms, cursor_ms)
            except Exception as error:  # REST trouble: fall back on publishing the period again
                log.warning(
                    "could not read the forming higher bars' minutes; publishing them again",
                    extra={"stream": stream.as_text(), "error": repr(error)},
                )
                streamer.gate.cursors[stream] = first_ms - timeframe_ms(stream.timeframe)
        aggregator.seed(stream, minutes)
        seeded += len(minutes)
    if seeded:
        log.info("aggregator seeded with published minutes", extra={"minutes": seeded})
    return seeded
