"""A minute of bars as one event whenever AWS accepts it, and the rule patterns that select the batches.

A minute of an exchange and timeframe goes as one `BarsClosed` event up to the largest event EventBridge, SNS and
Lambda's asynchronous invocation all accept (256 KB: about 1,400 symbols), so each strategy is invoked once a
minute, however many 64 KB chunks the event is billed as (EventBridge and SNS bill each started 64 KB as one
event: cutting a minute into 64 KB batches costs the same events and one more invocation per strategy for each,
and the invocations of one minute then race for the strategy's cursor item). Only a minute past 256 KB is cut
into more batches.

A strategy line subscribes with a pattern on single bars (`BarClosed`, what the local bus routes). On AWS the
same line subscribes to `BarsClosed` batches with `batch_pattern(pattern)`: the batch's own fields (exchange,
timeframe, open time) stay as they are, `symbol` becomes `symbols` (a batch matches when any of its symbols
does: arrays of strings match element by element on EventBridge, in SNS filter policies and in moto alike),
and conditions on a row's prices or volumes are left to the function. The rule is therefore a superset: it
never misses a batch holding a wanted bar, and the function keeps exactly the rows its bar pattern matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from events.models import BarClosed, BarsClosed, MinuteBar, minute_bar
from events.patterns import InvalidPattern

# EventBridge bills each 64 KB of an entry as one event; SNS each 64 KB of a message.
BILLED_CHUNK_BYTES = 64 * 1024
# The largest PutEvents entry, SNS message (body and attributes together) and asynchronous Lambda payload. The
# margin covers the envelope around the detail (source, detail-type, time, id; what EventBridge adds for Lambda:
# under 1 KB) and SNS's attributes but `symbol`, which each row reserves room for (its symbol once more).
MAX_EVENT_BYTES = 256 * 1024
BATCH_DETAIL_BYTES = MAX_EVENT_BYTES - 4096

BATCH_FIELDS = frozenset({"exchange", "timeframe", "open_time_ms", "schema_version"})
ROW_FIELDS = (frozenset(MinuteBar.model_fields) | {"close_time_ms"}) - {"symbol"}  # checked by the function


def batches_of(bars: Iterable[BarClosed], max_detail_bytes: int = BATCH_DETAIL_BYTES) -> list[BarsClosed]:
    """The bars grouped by (exchange, timeframe, open time), each group cut into batches of at most
    `max_detail_bytes` of JSON detail, rows in the order given. A symbol twice in one group keeps its first bar."""
    groups: dict[tuple[str, str, int], dict[str, MinuteBar]] = {}
    for bar in bars:
        rows = groups.setdefault((bar.exchange, bar.timeframe, bar.open_time_ms), {})
        rows.setdefault(bar.symbol, minute_bar(bar))
    batches: list[BarsClosed] = []
    for (exchange, timeframe, open_time_ms), rows in groups.items():
        head = _detail_bytes(exchange, timeframe, open_time_ms, [])
        chunk: list[MinuteBar] = []
        size = head
        for row in rows.values():
            # the row, and its symbol in `symbols` and in SNS's `symbol` attribute, each with the comma before it
            row_bytes = len(orjson.dumps(row.model_dump(mode="json"))) + 2 * (len(orjson.dumps(row.symbol)) + 1) + 1
            if chunk and size + row_bytes > max_detail_bytes:
                batches.append(_batch(exchange, timeframe, open_time_ms, chunk))
                chunk, size = [], head
            chunk.append(row)
            size += row_bytes
        batches.append(_batch(exchange, timeframe, open_time_ms, chunk))
    return batches


def _batch(exchange: str, timeframe: str, open_time_ms: int, rows: list[MinuteBar]) -> BarsClosed:
    return BarsClosed.trusted(exchange=exchange, timeframe=timeframe, open_time_ms=open_time_ms, bars=rows)


def _detail_bytes(exchange: str, timeframe: str, open_time_ms: int, rows: list[MinuteBar]) -> int:
    return len(_batch(exchange, timeframe, open_time_ms, rows).model_dump_json())


def batch_pattern(bar_pattern: Mapping[str, Any]) -> dict[str, Any]:
    """The rule pattern that selects every `BarsClosed` holding at least one bar `bar_pattern` selects."""
    translated: dict[str, Any] = {}
    for key, value in bar_pattern.items():
        if key == "detail-type":
            if not isinstance(value, list) or "BarClosed" not in value:
                raise InvalidPattern(f"detail-type: a strategy subscribes to BarClosed, got {value!r}")
            translated[key] = ["BarsClosed"]
        elif key == "detail":
            if not isinstance(value, Mapping):
                raise InvalidPattern(f"detail: expected an object, got {value!r}")
            detail = _batch_detail(value, "detail")
            if detail:
                translated[key] = detail
        else:
            translated[key] = value
    if "detail-type" not in translated:
        raise InvalidPattern("a strategy's pattern names its detail-type (BarClosed)")
    return translated


def _batch_detail(detail: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The batch conditions implied by a bar's; empty when the bar pattern constrains nothing a batch carries."""
    batch: dict[str, Any] = {}
    for key, value in detail.items():
        if key == "$or":
            if not isinstance(value, list):
                raise InvalidPattern(f"{where}.$or: expected an array of objects")
            alternatives = [_batch_detail(alternative, f"{where}.$or") for alternative in value]
            if all(alternatives):  # an alternative with no batch condition lets every batch through
                batch[key] = alternatives
        elif key in BATCH_FIELDS:
            batch[key] = value
        elif key == "symbol":
            batch["symbols"] = value
        elif key not in ROW_FIELDS:
            raise InvalidPattern(
                f"{where}.{key}: a bar has no such field, so no rule could select on it "
                f"(bar fields: {', '.join(sorted(BATCH_FIELDS | ROW_FIELDS | {'symbol'}))})"
            )
    return batch
