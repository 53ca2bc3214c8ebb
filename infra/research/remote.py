"""A sweep on S3, for `stds sweep --aws`: the same items, run by the same `run_items`, in a Lambda.

Under `s3://BUCKET/sweeps/ID/` the command line writes what every child needs: `definition.json` (the strategy
line and the paper broker and risk around it), the bars as Parquet, one file per stream (`stds download`'s
format, read without a CSV parse, prices as exact decimal text), and `manifest.json`, the items, which the
state machine's Distributed Map reads and hands out in batches. A child runs its batch (`run_batch`) and writes
each finished item where the local sweep folder keeps it, `items/KEY.json` (its summary) and `items/KEY.trades.csv`,
so collecting a sweep is copying those into the local folder; a failed item writes nothing and is tried again
by the next run of the same command, as locally.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from events.dead_letters import DeadLetterList
from events.models import BarClosed
from infra.config import StdsConfig, StrategyLine
from infra.research.grid import ParamSet, ParamValue
from infra.research.items import ItemOutcome, SweepItem, SweepLine, run_items
from infra.research.windows import Span
from infra.research.workers import Bars
from producers.replay import parquet_bars
from producers.replay.parquet_bars import bar_row
from producers.replay.sources import open_sources

DEFINITION, MANIFEST, BARS, ITEMS = "definition.json", "manifest.json", "bars", "items"


class S3(Protocol):
    """The calls of boto3's S3 client a sweep makes."""

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> Any: ...  # noqa: N803 (boto3's names)
    def get_object(self, *, Bucket: str, Key: str) -> Any: ...  # noqa: N803


@dataclass(frozen=True)
class SweepPlace:
    bucket: str
    prefix: str  # sweeps/ID

    def key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))


def upload_sweep(
    s3: S3, place: SweepPlace, line: SweepLine, bars: Sequence[BarClosed], items: Sequence[SweepItem]
) -> None:
    """Everything a child reads; the manifest last, so a sweep with a manifest is whole."""
    if line.line.use.endswith(".py") or ":" in line.line.use:
        raise ValueError(f"strategy {line.line.use!r} is not built in: a sweep on AWS runs the built-in strategies")
    streams: dict[tuple[str, str, str], list[BarClosed]] = {}
    for bar in bars:
        streams.setdefault((bar.exchange, bar.symbol, bar.timeframe), []).append(bar)
    names = []
    for (exchange, symbol, timeframe), stream in streams.items():
        name = f"{exchange}-{symbol.replace('/', '')}-{timeframe}.parquet"
        s3.put_object(
            Bucket=place.bucket, Key=place.key(BARS, name), Body=parquet_of(exchange, symbol, timeframe, stream)
        )
        names.append(name)
    definition = {
        "line": line.name,
        "strategy": line.line.model_dump(mode="json"),
        "config": line.config.model_dump(mode="json"),
        "bars": names,
    }
    s3.put_object(Bucket=place.bucket, Key=place.key(DEFINITION), Body=orjson.dumps(definition))
    s3.put_object(Bucket=place.bucket, Key=place.key(MANIFEST), Body=orjson.dumps([item_json(i) for i in items]))


def parquet_of(exchange: str, symbol: str, timeframe: str, bars: Sequence[BarClosed]) -> bytes:
    """One stream's bars as `stds download` stores them."""
    columns = list(zip(*map(bar_row, bars), strict=True))
    metadata = {
        parquet_bars.EXCHANGE: exchange.encode(),
        parquet_bars.SYMBOL: symbol.encode(),
        parquet_bars.TIMEFRAME: timeframe.encode(),
        parquet_bars.COVERED: orjson.dumps([[bars[0].open_time_ms, bars[-1].open_time_ms + bars[-1].interval_ms]]),
    }
    schema = parquet_bars.SCHEMA.with_metadata(metadata)
    table = pa.table([pa.array(column, field.type) for column, field in zip(columns, schema, strict=True)], schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return bytes(sink.getvalue().to_pybytes())


def item_json(item: SweepItem) -> dict[str, Any]:
    """An item as the manifest holds it: exact parameter values (a decimal as text, tagged), its span, its key."""
    params = {
        name: {"decimal": str(value)} if isinstance(value, Decimal) else value for name, value in item.params.items()
    }
    return {"key": item.key, "set": item.set_index, "params": params, "span": [item.span.start_ms, item.span.end_ms]}


def item_of(document: dict[str, Any]) -> SweepItem:
    params: ParamSet = {name: _value(value) for name, value in document["params"].items()}
    item = SweepItem(int(document["set"]), params, Span(*document["span"]))
    if item.key != document["key"]:
        raise ValueError(f"manifest item {document['key']} does not match its parameters and span")
    return item


def _value(value: Any) -> ParamValue:
    if isinstance(value, dict):
        return Decimal(value["decimal"])
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a parameter value: {value!r}")
    return value


@dataclass(frozen=True)
class LoadedSweep:
    line: SweepLine
    bars: Bars


_loaded: dict[tuple[str, str], LoadedSweep] = {}  # a warm Lambda's last sweep: read once, not once per batch


def load_sweep(s3: S3, place: SweepPlace) -> LoadedSweep:
    cached = _loaded.get((place.bucket, place.prefix))
    if cached is not None:
        return cached
    definition = orjson.loads(s3.get_object(Bucket=place.bucket, Key=place.key(DEFINITION))["Body"].read())
    line = SweepLine(
        definition["line"],
        StrategyLine.model_validate(definition["strategy"]),
        StdsConfig.model_validate(definition["config"]),
        Path("."),
    )
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name in definition["bars"]:
            path = Path(folder) / name
            path.write_bytes(s3.get_object(Bucket=place.bucket, Key=place.key(BARS, name))["Body"].read())
            paths.append(path)
        bars = Bars.of(list(open_sources(paths, DeadLetterList())))
    _loaded.clear()
    _loaded[(place.bucket, place.prefix)] = loaded = LoadedSweep(line, bars)
    return loaded


def run_batch(s3: S3, place: SweepPlace, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A child's work: its items run span by span as the local workers run them, each finished one written to
    S3. Returns what the Distributed Map's result writer keeps: the keys done and the items that failed."""
    sweep = load_sweep(s3, place)
    by_span: dict[Span, list[SweepItem]] = {}
    for document in documents:
        item = item_of(document)
        by_span.setdefault(item.span, []).append(item)
    done: list[str] = []
    failed: list[dict[str, str]] = []
    for span, items in by_span.items():
        for outcome in run_items(sweep.bars.within(span), sweep.line, items):
            if outcome.summary is None:
                failed.append({"key": outcome.key, "error": str(outcome.error)})
                continue
            _keep(s3, place, outcome)
            done.append(outcome.key)
    return {"done": done, "failed": failed}


def _keep(s3: S3, place: SweepPlace, outcome: ItemOutcome) -> None:
    """The trades before the summary: an item is done once its summary exists (as in the local folder)."""
    from infra.report.trades import trades_csv

    body = trades_csv(outcome.fills)
    s3.put_object(Bucket=place.bucket, Key=place.key(ITEMS, f"{outcome.key}.trades.csv"), Body=body)
    s3.put_object(Bucket=place.bucket, Key=place.key(ITEMS, f"{outcome.key}.json"), Body=orjson.dumps(outcome.summary))
