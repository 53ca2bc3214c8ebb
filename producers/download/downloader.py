"""What `stds download` does for each stream: ask only for the time its files do not cover yet, closed months and
days from the archive first, the rest (and whatever the archive lacks) over REST; never the forming candle; report
the bars the exchange itself lacks, without making any up."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events.dead_letters import DeadLetters
from events.models import BarClosed
from events.timeframes import timeframe_ms
from producers.download.archive import ArchiveUnavailable, BinanceArchive
from producers.download.rest import PAGE_LIMIT, KlinesRest
from producers.download.spans import (
    DAY_MS,
    Span,
    day_label,
    missing,
    month_label,
    month_start_ms,
    months,
    next_month_ms,
    whole_days,
)
from producers.download.store import MonthFile, StreamFiles
from producers.replay.binance_csv import KlineRows, read_binance_klines
from producers.replay.rows import InvalidBarRow, StreamInfo
from producers.replay.sequencing import Gap, StreamOrder

log = logging.getLogger(__name__)

SOURCES = ("auto", "archive", "rest")
SAVE_EVERY_PAGES = 10  # a killed run loses at most this many REST pages of a month


@dataclass(frozen=True)
class DownloadRequest:
    exchange: str
    markets: dict[str, str]  # unified symbol → the exchange's market id
    timeframe: str
    since_ms: int
    until_ms: int | None  # bars opening before it; None: up to the last closed bar
    out: Path
    source: str = "auto"


@dataclass
class StreamReport:
    symbol: str
    files: StreamFiles
    new_bars: int = 0
    bars: int = 0
    first_open_ms: int | None = None
    last_open_ms: int | None = None
    gaps: list[Gap] = field(default_factory=list)
    unavailable: list[Span] = field(default_factory=list)  # asked for, but no source could give it

    @property
    def missing_bars(self) -> int:
        return sum(gap.missing_bars for gap in self.gaps)


@dataclass
class DownloadReport:
    streams: list[StreamReport]
    end_ms: int  # the forming candle (never stored) opens here
    archive_files: int = 0
    archive_refused: list[str] = field(default_factory=list)
    archive_problems: list[str] = field(default_factory=list)
    rest_requests: int = 0
    waited_s: float = 0.0


class Downloader:
    """One run over every stream of a request; `progress(n)` is told of each n bars' worth of time done."""

    def __init__(
        self,
        request: DownloadRequest,
        archive: BinanceArchive | None,
        rest: KlinesRest | None,
        dead_letters: DeadLetters,
        now_ms: int,
    ) -> None:
        self.request = request
        self.interval_ms = timeframe_ms(request.timeframe)
        self.archive = archive if request.source != "rest" else None
        self.rest = rest if request.source != "archive" else None
        self.dead_letters = dead_letters
        self.now_ms = now_ms
        self.end_ms = now_ms // self.interval_ms * self.interval_ms  # the forming candle opens here
        if request.until_ms is not None:
            self.end_ms = min(self.end_ms, request.until_ms)
        self.report = DownloadReport([], self.end_ms)
        self._progress: Callable[[int], object] = lambda bars: None

    def streams(self) -> list[StreamFiles]:
        request = self.request
        return [
            StreamFiles(request.out, request.exchange, symbol, market, request.timeframe)
            for symbol, market in sorted(request.markets.items())
        ]

    def bars_to_fetch(self) -> int:
        """How many bars' worth of time no file covers yet (the progress bar's total)."""
        return sum(
            (end - start) // self.interval_ms
            for files in self.streams()
            for month_span in months((self.request.since_ms, self.end_ms))
            for start, end in missing(month_span, files.covered(month_start_ms(month_span[0])))
        )

    def run(self, progress: Callable[[int], object] = lambda bars: None) -> DownloadReport:
        self._progress = progress
        for files in self.streams():
            self.report.streams.append(self._stream(files))
        if self.archive is not None:
            self.report.archive_files = self.archive.files_read
            self.report.archive_refused = self.archive.refused
        if self.rest is not None:
            self.report.rest_requests = self.rest.requests
            self.report.waited_s = self.rest.waited_s
        return self.report

    def _stream(self, files: StreamFiles) -> StreamReport:
        report = StreamReport(files.symbol, files)
        wanted = (self.request.since_ms, self.end_ms)
        for month_span in months(wanted):
            month_ms = month_start_ms(month_span[0])
            todo = missing(month_span, files.covered(month_ms))
            if not todo:
                continue
            month = files.open(month_ms)
            for piece in todo:
                report.new_bars += self._fill(month, piece)
            month.save()
            report.unavailable += missing(month_span, month.covered)
        self._describe(report, wanted)
        return report

    def _fill(self, month: MonthFile, piece: Span) -> int:
        """Fetch `piece` of the month: the archive's monthly zip for a whole closed month, its daily zips for whole
        closed days, REST for the rest and for whatever the archive lacks. Returns the number of new bars."""
        new = 0
        month_ms = month_start_ms(piece[0])
        if self.archive is not None:
            if piece == (month_ms, next_month_ms(month_ms)) and piece[1] <= month_start_ms(self.now_ms):
                new += self._from_archive(month, piece, "monthly", month_label(month_ms))
            today_ms = self.now_ms // DAY_MS * DAY_MS
            for day in whole_days(piece):
                if day[1] <= today_ms and missing(day, month.covered):
                    new += self._from_archive(month, day, "daily", day_label(day[0]))
        if self.rest is not None:
            for part in missing(piece, month.covered):
                new += self._from_rest(month, part)
        return new

    def _from_archive(self, month: MonthFile, span: Span, period: str, label: str) -> int:
        assert self.archive is not None
        files = month.stream
        stream = StreamInfo(self.request.exchange, files.symbol, files.timeframe, self.interval_ms)
        with tempfile.TemporaryDirectory(prefix="stds-download-") as folder:
            try:
                csv = self.archive.klines_csv(files.market, files.timeframe, period, label, Path(folder))
            except ArchiveUnavailable as error:
                self.report.archive_problems.append(str(error))
                return 0
            if csv is None:
                return 0
            # a refused row is named by the zip it came from, not by the temporary folder it was read in
            letters = _Renamed(
                self.dead_letters, str(csv), self.archive.url(files.market, files.timeframe, period, label)
            )
            order = StreamOrder(letters, None)  # gaps are reported per stream, once all is stored
            bars = list(read_binance_klines(csv, stream, letters, order))
        new = month.add(bars, span)
        month.save()
        self._progress((span[1] - span[0]) // self.interval_ms)
        return new

    def _from_rest(self, month: MonthFile, span: Span) -> int:
        assert self.rest is not None
        files = month.stream
        rows = KlineRows(StreamInfo(self.request.exchange, files.symbol, files.timeframe, self.interval_ms))
        origin = f"{self.rest.where} klines {files.market} {files.timeframe}"
        new = pages = 0
        start, end = span
        while start < end:
            page = self.rest.page(files.market, files.timeframe, start, end)
            bars = [bar for row in page if (bar := self._bar(rows, row, origin)) is not None]
            last_open_ms = max((bar.open_time_ms for bar in bars), default=start - self.interval_ms)
            # a short page is all the exchange has up to `end`; a full one, all it has up to its last bar (a full page
            # of rows the bar rules refuse, all dead-lettered, ends the span: asking again would bring the same rows)
            done_to = (
                end if len(page) < PAGE_LIMIT or last_open_ms < start else min(end, last_open_ms + self.interval_ms)
            )
            new += month.add(bars, (start, done_to))
            self._progress((done_to - start) // self.interval_ms)
            start = done_to
            pages += 1
            if pages % SAVE_EVERY_PAGES == 0:
                month.save()
        return new

    def _bar(self, rows: KlineRows, row: list[Any], origin: str) -> BarClosed | None:
        """The REST row as a bar, checked as an archive row is; a bad one is dead-lettered."""
        try:
            return rows.bar(",".join(map(str, row)))
        except (InvalidBarRow, IndexError, TypeError) as error:
            self.dead_letters.put(f"{origin} row {str(row)[:40]}", str(error), row)
            return None

    def _describe(self, report: StreamReport, wanted: Span) -> None:
        """Count the stored bars of the wanted time and find the exchange's own gaps among them."""
        files = report.files
        previous: int | None = None
        for month_span in months(wanted):
            for open_ms in files.open_times(month_start_ms(month_span[0])):
                if not wanted[0] <= open_ms < wanted[1]:
                    continue
                if previous is None:
                    report.first_open_ms = open_ms
                elif open_ms - previous > self.interval_ms:
                    missing_bars = (open_ms - previous) // self.interval_ms - 1
                    gap = Gap(self.request.exchange, files.symbol, files.timeframe, previous, open_ms, missing_bars)
                    report.gaps.append(gap)
                previous = open_ms
                report.bars += 1
        report.last_open_ms = previous


class _Renamed:
    """Dead letters whose origin starts with `temporary` are put as coming from `shown` (e.g. a zip's URL)."""

    def __init__(self, dead_letters: DeadLetters, temporary: str, shown: str) -> None:
        self._dead_letters, self._temporary, self._shown = dead_letters, temporary, shown

    def put(self, origin: str, error: str, payload: Any) -> None:
        if origin.startswith(self._temporary):
            origin = self._shown + origin[len(self._temporary) :]
        self._dead_letters.put(origin, error, payload)
