"""Files and folders of recorded bars → one stream of BarClosed, merged across symbols in time order."""

from __future__ import annotations

import heapq
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from events.dead_letters import DeadLetterList, DeadLetters
from events.models import BarClosed
from events.timeframes import TIMEFRAME_MS
from producers.replay.binance_csv import read_binance_klines
from producers.replay.freqtrade_json import count_rows, first_open_ms, is_freqtrade_json, pair_of, read_freqtrade_json
from producers.replay.lines import csv_fields, is_header, line_runs
from producers.replay.ohlcv_csv import parse_timestamp, read_ohlcv
from producers.replay.recorded_events import is_recording, read_recorded_bars
from producers.replay.rows import InvalidBarRow, StreamInfo
from producers.replay.sequencing import Gap, StreamOrder, in_sequence
from producers.symbols import unified_symbol

__all__ = ["Gap", "ReplaySource", "UnreadableSource", "open_sources", "paced"]

_SUFFIXES = {".csv", ".jsonl", ".json", ".parquet"}
_TIMEFRAME_IN_NAME = re.compile(r"[-_](" + "|".join(TIMEFRAME_MS) + r")[-_.]")


class UnreadableSource(ValueError):
    """A path that cannot be replayed; the message says what to do about it."""


@dataclass(frozen=True)
class _CsvFile:
    path: Path
    stream: StreamInfo
    kind: str  # "binance" (12-column archive), "ohlcv", "freqtrade" (JSON array) or "parquet" (`stds download`)
    first_open_ms: int | None  # files of a stream are read in time order, whatever their names say


def open_sources(
    paths: Sequence[Path],
    dead_letters: DeadLetters,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    on_gap: Callable[[Gap], None] | None = None,
) -> ReplaySource:
    """Check every path now (so a typo fails before anything runs); read lazily when iterated."""
    files = _expand(paths)
    csv_files, recordings = [], []
    for path in files:
        if is_freqtrade_json(path):
            csv_files.append(_describe_freqtrade(path, exchange, symbol))
        elif path.suffix == ".parquet":
            csv_files.append(_describe_parquet(path, exchange, symbol))
        elif path.suffix in {".jsonl", ".json"} or is_recording(path):
            recordings.append(path)
        else:
            csv_files.append(_describe_csv(path, exchange, symbol))
    return ReplaySource(csv_files, recordings, dead_letters, on_gap)


class ReplaySource:
    """Iterable of bars in (open time, exchange, symbol) order; `total_rows` sizes a progress bar."""

    def __init__(
        self,
        csv_files: list[_CsvFile],
        recordings: list[Path],
        dead_letters: DeadLetters,
        on_gap: Callable[[Gap], None] | None,
    ) -> None:
        self._csv_files = csv_files
        self._recordings = recordings
        self._dead_letters = dead_letters
        self._on_gap = on_gap
        self.files = {path.resolve() for path in (*(f.path for f in csv_files), *recordings)}
        self.total_rows = sum(_ROW_COUNTS.get(f.kind, _count_lines)(f.path) for f in csv_files)
        self.total_rows += sum(map(_count_lines, recordings))

    def __iter__(self) -> Iterator[BarClosed]:
        by_stream: dict[StreamInfo, list[_CsvFile]] = {}
        for csv_file in self._csv_files:
            by_stream.setdefault(csv_file.stream, []).append(csv_file)
        sources = [self._stream(sorted(group, key=_in_time_order)) for group in by_stream.values()]
        sources += [self._recording(path) for path in self._recordings]
        if len(sources) == 1:
            return sources[0]
        return heapq.merge(*sources, key=lambda bar: (bar.open_time_ms, bar.exchange, bar.symbol))

    def _recording(self, path: Path) -> Iterator[BarClosed]:
        return in_sequence(read_recorded_bars(path, self._dead_letters), self._dead_letters, self._on_gap)

    def _stream(self, files: list[_CsvFile]) -> Iterator[BarClosed]:
        order = StreamOrder(self._dead_letters, self._on_gap)  # one stream: its files follow one another
        return itertools.chain.from_iterable(
            _READERS[f.kind](f.path, f.stream, self._dead_letters, order) for f in files
        )


def _in_time_order(csv_file: _CsvFile) -> tuple[int, str]:
    # a file whose first rows have no readable time goes last; its rows are refused one by one anyway
    first = csv_file.first_open_ms
    return (first if first is not None else 2**63, csv_file.path.name)


def paced(
    bars: Iterable[BarClosed],
    speed: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[BarClosed]:
    """Release bars at `speed`× market time (60 bars of 1m in one second at speed 3600)."""
    first_market_ms: int | None = None
    started = clock()
    for bar in bars:
        if first_market_ms is None:
            first_market_ms = bar.close_time_ms
        due = started + (bar.close_time_ms - first_market_ms) / 1000 / speed
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        yield bar


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
            if not found:
                raise UnreadableSource(f"{path}: no .csv or .jsonl files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UnreadableSource(f"{path}: no such file or folder")
    return files


def _describe_csv(path: Path, exchange: str | None, symbol: str | None) -> _CsvFile:
    first_rows = _first_rows(path)
    widths = {len(fields) for fields in first_rows}
    if any(is_header(fields) and fields[0].strip().lower() == "timestamp" for fields in first_rows) or 6 in widths:
        kind = "ohlcv"
    elif 12 in widths:
        kind = "binance"
    else:
        raise UnreadableSource(
            f"{path}: not a Binance kline CSV (12 columns) nor a ccxt OHLCV CSV "
            f"(timestamp,open,high,low,close,volume); its first lines have {sorted(widths) or 'no'} columns"
        )
    timeframe_match = _TIMEFRAME_IN_NAME.search(path.name)
    first_opens_ms = [ms for fields in first_rows if (ms := _open_time_ms(fields)) is not None]
    timeframe = timeframe_match.group(1) if timeframe_match else _timeframe_of_steps(first_opens_ms)
    market = symbol or unified_symbol(re.split(r"[-_.]", path.name)[0]) or unified_symbol(path.parent.name)
    if market is None:
        raise UnreadableSource(
            f"cannot tell the symbol of {path}: name it SYMBOL-1m-YYYY-MM-DD.csv (e.g. BTCUSDT-1m-2023-01-21.csv) "
            "or pass --symbol BTC/USDT"
        )
    venue = exchange or ("binanceusdm" if "futures/um" in path.as_posix() else "binance")
    first_open_ms = first_opens_ms[0] if first_opens_ms else None
    return _CsvFile(path, StreamInfo(venue, market, timeframe, TIMEFRAME_MS[timeframe]), kind, first_open_ms)


def _timeframe_of_steps(open_times_ms: list[int]) -> str:
    """A file whose name does not say its timeframe: the smallest step between its first rows, if it is one
    (rows 5 minutes apart are 5m bars, not 1m bars with gaps); else 1m."""
    steps = [later - earlier for earlier, later in itertools.pairwise(open_times_ms) if later > earlier]
    named = {length_ms: name for name, length_ms in TIMEFRAME_MS.items()}
    return named.get(min(steps, default=0), "1m")


def _first_rows(path: Path, count: int = 5) -> list[list[str]]:
    """The first few readable rows (what is unreadable is dead-lettered when the file is replayed)."""
    texts = itertools.chain.from_iterable(run for _, run in line_runs(path, DeadLetterList()))
    return [csv_fields(text) for text in itertools.islice(texts, count)]


def _open_time_ms(fields: list[str]) -> int | None:
    try:
        return parse_timestamp(fields[0])
    except InvalidBarRow:
        return None


def _describe_freqtrade(path: Path, exchange: str | None, symbol: str | None) -> _CsvFile:
    pair = pair_of(path)
    if pair is None and symbol is None:
        raise UnreadableSource(
            f"cannot tell the pair of {path}: freqtrade names it BASE_QUOTE-TIMEFRAME.json (e.g. BTC_USDT-1m.json); "
            "rename it or pass --symbol BTC/USDT"
        )
    market, timeframe = pair or (symbol or "", "1m")
    if timeframe not in TIMEFRAME_MS:
        raise UnreadableSource(f"{path}: timeframe {timeframe!r} is not one of {', '.join(TIMEFRAME_MS)}")
    stream = StreamInfo(exchange or "binance", symbol or market, timeframe, TIMEFRAME_MS[timeframe])
    return _CsvFile(path, stream, "freqtrade", first_open_ms(path))


def _describe_parquet(path: Path, exchange: str | None, symbol: str | None) -> _CsvFile:
    from producers.replay import parquet_bars  # pyarrow is imported only when a Parquet file is replayed

    try:
        metadata = parquet_bars.file_metadata(path)
    except parquet_bars.UnreadableParquet as error:
        raise UnreadableSource(str(error)) from None
    timeframe = metadata.get(parquet_bars.TIMEFRAME, b"").decode()
    market = symbol or metadata.get(parquet_bars.SYMBOL, b"").decode()
    if timeframe not in TIMEFRAME_MS or not market:
        raise UnreadableSource(f"{path}: its metadata does not name the symbol and timeframe; download it again")
    venue = exchange or metadata.get(parquet_bars.EXCHANGE, b"binance").decode()
    stream = StreamInfo(venue, market, timeframe, TIMEFRAME_MS[timeframe])
    return _CsvFile(path, stream, "parquet", parquet_bars.first_open_ms(path))


def _read_parquet(path: Path, stream: StreamInfo, dead_letters: DeadLetters, order: StreamOrder) -> Iterator[BarClosed]:
    from producers.replay.parquet_bars import read_parquet_bars

    return read_parquet_bars(path, stream, dead_letters, order)


def _count_parquet_rows(path: Path) -> int:
    from producers.replay.parquet_bars import count_rows as count_parquet_rows

    return count_parquet_rows(path)


_READERS = {
    "binance": read_binance_klines,
    "ohlcv": read_ohlcv,
    "freqtrade": read_freqtrade_json,
    "parquet": _read_parquet,
}
_ROW_COUNTS = {"freqtrade": count_rows, "parquet": _count_parquet_rows}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
