"""Where the streamer keeps recent bars for the strategy functions: one S3 object per exchange, timeframe and span.

A span is 60 bars (an hour of 1-minute bars). Its object holds every batch published for it so far, one
`BarsClosed` detail per line, and the streamer rewrites it (one PUT) before it publishes each batch, so a
function that starts cold finds every bar up to the one it was invoked for in at most
`ceil(lookback / 60) + 1` GETs. Strategy functions only read these objects; nothing but the streamer writes
bars, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from events.codec import describe_errors
from events.models import BarClosed, BarsClosed
from events.timeframes import timeframe_ms

BARS_PER_SPAN = 60
PREFIX = "bars"


class ArchiveLineError(ValueError):
    """A line of an archive object that is not a batch of bars; the message names the object and line."""


def span_ms(timeframe: str) -> int:
    return BARS_PER_SPAN * timeframe_ms(timeframe)


def span_start(timeframe: str, open_time_ms: int) -> int:
    return open_time_ms - open_time_ms % span_ms(timeframe)


def span_key(exchange: str, timeframe: str, open_time_ms: int) -> str:
    """`bars/binance/1m/2025-03-01T13-00.jsonl`: the object holding the bar that opens at `open_time_ms`."""
    start = datetime.fromtimestamp(span_start(timeframe, open_time_ms) / 1000, tz=UTC)
    return f"{PREFIX}/{exchange}/{timeframe}/{start:%Y-%m-%dT%H-%M}.jsonl"


def span_keys(exchange: str, timeframe: str, first_open_ms: int, last_open_ms: int) -> list[str]:
    """The objects holding every bar opening from `first_open_ms` to `last_open_ms`, oldest first."""
    step = span_ms(timeframe)
    start = span_start(timeframe, first_open_ms)
    return [span_key(exchange, timeframe, at) for at in range(start, last_open_ms + 1, step)]


def encode_line(batch: BarsClosed) -> bytes:
    return batch.model_dump_json().encode() + b"\n"


def decode_object(body: bytes, origin: str) -> Iterator[BarClosed | ArchiveLineError]:
    """Every bar of an archive object, in the order written; an unreadable line yields its error instead."""
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            batch = BarsClosed.model_validate(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            yield ArchiveLineError(f"{origin}:{number}: not JSON ({error})")
            continue
        except ValidationError as error:
            yield ArchiveLineError(f"{origin}:{number}: {describe_errors(error)}")
            continue
        yield from batch.bar_events()
