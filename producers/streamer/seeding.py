"""After a restart, the higher bars still forming: their minutes already published are read over REST into the
aggregator only, so it makes those bars whole without the minutes going out again (on AWS each would wake every
1m strategy: ARCHITECTURE invariant 8); the streamer then publishes from its cursor as ever. A higher bar whose
minutes all went out but which was itself still in flight when the task stopped is made again the same way."""

from __future__ import annotations

import logging

from events.aggregation import BarAggregator, HigherBars
from events.models import BarClosed
from events.streams import StreamKey
from events.timeframes import timeframe_ms
from producers.streamer.supervisor import Streamer

log = logging.getLogger(__name__)


async def seed_forming_bars(streamer: Streamer, higher_bars: HigherBars) -> int:
    """Before the streamer runs: each stream's minutes from the start of its oldest period still forming to its
    cursor, into the aggregator (what they close was published before the restart). Where a higher stream's cursor
    was saved lagging (`streamer.lagging_cursors`: its bars were in flight when the task stopped), the minutes are
    read from the start of its first undelivered period, and the higher bars after its cursor that they close go
    to `higher_bars.sink` again (the minutes do not). Where REST fails, the cursor goes back to that start instead,
    and those minutes are published again (downstream knows them by their ids): a bar is never lost to save a call.
    Returns the minutes seeded."""
    aggregator = higher_bars.aggregator
    seeded = remade = 0
    for stream, cursor_ms in sorted(streamer.gate.cursors.items()):
        lagging = _lagging(streamer.lagging_cursors, stream, aggregator)
        first_ms = _first_to_read(aggregator, stream, cursor_ms, lagging)
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
        for made in aggregator.seed(stream, minutes):
            if made.open_time_ms > lagging.get(made.timeframe, made.open_time_ms):
                higher_bars.sink(made)
                remade += 1
        seeded += len(minutes)
    if seeded:
        log.info(
            "aggregator seeded with published minutes", extra={"minutes": seeded, "higher_bars_made_again": remade}
        )
    return seeded


def _lagging(cursors: dict[StreamKey, int], stream: StreamKey, aggregator: BarAggregator) -> dict[str, int]:
    """The saved cursors of the higher streams made from `stream`, by timeframe (none: all were delivered)."""
    return {
        lagging.timeframe: cursor_ms
        for lagging, cursor_ms in cursors.items()
        if lagging[:2] == stream[:2] and lagging.timeframe in aggregator.timeframes
    }


def _first_to_read(aggregator: BarAggregator, stream: StreamKey, cursor_ms: int, lagging: dict[str, int]) -> int | None:
    """The first minute to read back: of the oldest period still forming after `cursor_ms`, or of the first
    undelivered period of a lagging higher stream that began by then (a later one is made live, as ever)."""
    starts = [cursor + timeframe_ms(timeframe) for timeframe, cursor in lagging.items()]
    starts = [start for start in starts if start <= cursor_ms]
    forming_ms = aggregator.forming_from(stream, cursor_ms)
    return min([*starts, *([] if forming_ms is None else [forming_ms])], default=None)
