"""Bars as `stds download` stores them: Parquet, one file per stream and month (`BTCUSDT-1m-2024-01.parquet`).

Prices and volumes are kept as the exchange's decimal text (never a float), dictionary-encoded, so a reader turns
each distinct value into a Decimal once. The stream (exchange, symbol, timeframe) and the span of time the file is
known to cover travel in the file's metadata, so neither depends on its name.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, overload

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from events.dead_letters import DeadLetters
from events.models import BarClosed
from producers.replay.rows import RowBars, StreamInfo, to_ms
from producers.replay.sequencing import StreamOrder, ordered_bars

SUFFIX = ".parquet"
DECIMAL_COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume")
OPTIONAL_COLUMNS = ("quote_volume",)  # with "trades": what some sources never give
PRICE_COLUMNS = DECIMAL_COLUMNS[:4]  # read as dictionaries: a month of 1m bars has few distinct prices
SCHEMA = pa.schema(
    [
        ("open_time", pa.int64()),
        *((name, pa.string()) for name in DECIMAL_COLUMNS),
        ("trades", pa.int64()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
Row = tuple[int, str, str, str, str, str, str | None, int | None]  # a bar as stored, in SCHEMA's columns
# metadata keys: what the rows are bars of, and the spans of time ([start_ms, end_ms) pairs, JSON) asked of the
# exchange and answered, so a bar missing inside them is the exchange's own gap (reported, never fetched again)
EXCHANGE, SYMBOL, TIMEFRAME, COVERED = b"stds.exchange", b"stds.symbol", b"stds.timeframe", b"stds.covered"


class UnreadableParquet(ValueError):
    """A Parquet file that is not one `stds download` writes; the message says what is wrong."""


def file_metadata(path: Path) -> dict[bytes, bytes]:
    """The file's key-value metadata (read from its footer only)."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableParquet(f"{path}: not a readable Parquet file ({error}); download it again") from None
    missing = [name for name in COLUMNS if name not in schema.names]
    if missing:
        raise UnreadableParquet(
            f"{path}: lacks the column(s) {', '.join(missing)} of a bars file ({', '.join(COLUMNS)})"
        )
    return dict(schema.metadata or {})


def count_rows(path: Path) -> int:
    """Rows in the file, from its footer (for a progress bar)."""
    rows: int = pq.read_metadata(path).num_rows
    return rows


def first_open_ms(path: Path) -> int | None:
    """The first row's open time, from the first row group's statistics (files of a stream are read in time order)."""
    metadata = pq.read_metadata(path)
    if metadata.num_row_groups == 0:
        return None
    statistics = metadata.row_group(0).column(COLUMNS.index("open_time")).statistics
    return int(statistics.min) if statistics is not None and statistics.has_min_max else None


def read_parquet_bars(
    path: Path, stream: StreamInfo, dead_letters: DeadLetters, order: StreamOrder
) -> Iterator[BarClosed]:
    """The bars of the file's good rows in time order; a bad row goes to `dead_letters` as `file:row N`, with the
    same words the CSV readers use for the same values."""
    try:
        table = pq.read_table(path, columns=list(COLUMNS), read_dictionary=list(PRICE_COLUMNS))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
        dead_letters.put(str(path), f"not a readable bars file: {error}; download it again", str(path))
        return iter(())
    rows = _ParquetRows(stream, table)
    everything = _RowSpan(rows, 0, table.num_rows)
    return ordered_bars([(1, everything)], rows.run_bars, rows.bar, f"{path}:row ", order, dead_letters)


class _RowSpan(Sequence[dict[str, Any]]):
    """Rows `start`..`stop` of a file: sliced without copying; a row, when asked for (to refuse it), as a dict."""

    __slots__ = ("rows", "start", "stop")

    def __init__(self, rows: _ParquetRows, start: int, stop: int) -> None:
        self.rows, self.start, self.stop = rows, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> _RowSpan: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | _RowSpan:
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self))
            return _RowSpan(self.rows, self.start + start, self.start + max(start, stop))
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.rows.row(self.start + index % len(self))


class _ParquetRows:
    """A file's columns as Python values: each distinct decimal text made a Decimal once; rows with a null or
    a text that is no number are noted, and only those are read row by row (as the CSV readers read them)."""

    __slots__ = ("_bars", "_columns", "_irregular", "_table", "_times", "_trades")

    def __init__(self, stream: StreamInfo, table: pa.Table) -> None:
        self._table = table
        self._bars = RowBars(stream)
        irregular: set[int] = set()
        self._times = _whole_numbers(table.column("open_time"), irregular)
        # quote volume and trade count are optional: a file of bars that never had them (a ccxt OHLCV recording)
        # has them null throughout, which is no irregular row
        self._trades = None if _all_null(table.column("trades")) else _whole_numbers(table.column("trades"), irregular)
        self._columns = [
            None
            if name in OPTIONAL_COLUMNS and _all_null(table.column(name))
            else _decimals(table.column(name), irregular)
            for name in DECIMAL_COLUMNS
        ]
        self._irregular = sorted(irregular)

    def run_bars(self, span: _RowSpan) -> list[BarClosed] | None:
        start, stop = span.start, span.stop
        irregular = self._irregular
        if irregular and bisect.bisect_left(irregular, start) < bisect.bisect_left(irregular, stop):
            return None
        opens, highs, lows, closes, volumes, quotes = (
            None if column is None else column[start:stop] for column in self._columns
        )
        assert opens is not None and highs is not None and lows is not None and closes is not None
        assert volumes is not None
        times, trades = self._times[start:stop], None if self._trades is None else self._trades[start:stop]
        return self._bars.decimal_run_bars(times, opens, highs, lows, closes, volumes, quotes, trades)

    def row(self, index: int) -> dict[str, Any]:
        values: dict[str, Any] = self._table.slice(index, 1).to_pylist()[0]
        return values

    def bar(self, row: dict[str, Any]) -> BarClosed:
        texts = {name: "" if value is None else str(value) for name, value in row.items()}
        fields = (texts["open"], texts["high"], texts["low"], texts["close"], texts["volume"])
        return self._bars.bar(to_ms(texts["open_time"]), fields, texts["quote_volume"], texts["trades"])


def _all_null(column: pa.ChunkedArray) -> bool:
    return len(column) > 0 and column.null_count == len(column)


def _whole_numbers(column: pa.ChunkedArray, irregular: set[int]) -> list[int]:
    """The column's values; a null (noted as irregular) reads as 0 until its row is read on its own."""
    if column.null_count:
        irregular.update(pc.indices_nonzero(column.is_null()).to_pylist())
        column = column.fill_null(0)
    values: list[int] = column.to_pylist()
    return values


def _decimals(column: pa.ChunkedArray, irregular: set[int]) -> list[Decimal]:
    """The column's texts as Decimals; a null or a text that is no number (noted as irregular) reads as 0 until its
    row is read on its own. Prices repeat, so each distinct one is converted once; volumes seldom do.

    A chunk is converted whole before it joins `values`: a text that is no number part way through leaves none
    of the chunk's values behind, which would shift every later row onto its predecessor's value."""
    values: list[Decimal] = []
    for chunk in column.chunks:
        try:
            if chunk.null_count:
                raise TypeError("a null")
            if isinstance(chunk, pa.DictionaryArray):
                distinct = list(map(Decimal, chunk.dictionary.to_pylist()))  # map runs in C: no Python call per value
                converted = list(map(distinct.__getitem__, chunk.indices.to_pylist()))
            else:
                converted = list(map(Decimal, chunk.to_pylist()))
        except (InvalidOperation, TypeError):
            converted = _checked_decimals(chunk.to_pylist(), len(values), irregular)
        values.extend(converted)
    return values


def _checked_decimals(texts: list[str | None], offset: int, irregular: set[int]) -> list[Decimal]:
    checked = [_decimal_or_none(text) for text in texts]
    irregular.update(offset + row for row, value in enumerate(checked) if value is None)
    return [Decimal(0) if value is None else value for value in checked]


def _decimal_or_none(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def bar_row(bar: BarClosed) -> Row:
    quote = None if bar.quote_volume is None else str(bar.quote_volume)
    return (
        bar.open_time_ms,
        str(bar.open),
        str(bar.high),
        str(bar.low),
        str(bar.close),
        str(bar.volume),
        quote,
        bar.trades,
    )
