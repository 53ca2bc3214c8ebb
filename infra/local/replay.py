"""`stds replay`: recorded bars through the same bus, consumers and stores as live, then a report."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.dead_letters import DeadLetterFile
from events.models import BarClosed
from infra.config import StdsConfig
from infra.local.run_parts import RunOutput, StateFile, Trading
from infra.local.session import LocalSession
from infra.local.stores import run_stores
from producers.replay.sources import Gap, ReplaySource, UnreadableSource, open_sources, paced

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayOptions:
    """What `stds replay` was asked for; `run_replay` turns it into the parts below before anything runs."""

    paths: list[Path]
    config: StdsConfig
    config_dir: Path
    out: Path
    db: Path | None = None  # None: <out>/state.sqlite; Path(":memory:"): nothing persisted
    resume: bool = False  # continue the state file's run
    fresh: bool = False  # discard the state file's run (neither: refuse a file that holds one)
    speed: float = 0.0  # 0: as fast as possible; N: N× market time
    record: Path | None = None
    exchange: str | None = None
    symbol: str | None = None
    from_ms: int | None = None  # only bars opening in [from_ms, to_ms): one window of a walk-forward, say
    to_ms: int | None = None
    progress: bool = True
    chart: bool = True


@dataclass(frozen=True)
class RecordedBars:
    """What a replay reads: files of recorded bars (their exchange and symbol, where their names do not tell),
    only the bars opening in [from_ms, to_ms), released at `speed` × market time (0: as fast as possible)."""

    paths: tuple[Path, ...]
    exchange: str | None
    symbol: str | None
    from_ms: int | None
    to_ms: int | None
    speed: float

    def open(self, dead_letters: DeadLetterFile, on_gap: Callable[[Gap], None]) -> ReplaySource:
        """Checks every path before any state is touched."""
        return open_sources(list(self.paths), dead_letters, exchange=self.exchange, symbol=self.symbol, on_gap=on_gap)

    def chosen(self, bars: Iterator[BarClosed]) -> Iterator[BarClosed]:
        """`bars` within the window, at the pace asked for."""
        if self.from_ms is not None or self.to_ms is not None:
            bars = _opening_within(bars, self.from_ms, self.to_ms)
        return paced(bars, self.speed) if self.speed else bars


def run_replay(options: ReplayOptions) -> dict[str, Any]:
    """Replay the recorded bars through the strategies, then write the report; its summary is returned."""
    bars = RecordedBars(
        tuple(options.paths), options.exchange, options.symbol, options.from_ms, options.to_ms, speed=options.speed
    )
    trading = Trading.load(options.config, options.config_dir)
    state_file = StateFile.of(options.db, options.out, resume=options.resume, fresh=options.fresh)
    output = RunOutput(options.out, options.record, chart=options.chart)
    return _replay(bars, trading, state_file, output, progress=options.progress)


def _replay(
    recorded: RecordedBars, trading: Trading, state_file: StateFile, output: RunOutput, *, progress: bool
) -> dict[str, Any]:
    with ExitStack() as closing:
        # a replay (resumed too) reads every file from the start: its dead letters and recording start over,
        # so each bad row is listed once and the recording replays equal
        dead_letters = DeadLetterFile(output.dead_letters, append=False)
        closing.callback(dead_letters.close)
        gaps: list[Gap] = []
        source = recorded.open(dead_letters, on_gap=gaps.append)
        if output.record is not None and output.record.resolve() in source.files:
            raise UnreadableSource(f"--record {output.record} is also replayed: record into another file")
        reading = time.perf_counter()
        bars = _first_bar_read(source, recorded.paths, dead_letters)  # before any state: an empty run is refused
        first_read_s = time.perf_counter() - reading  # the files opened for it: part of the replay's time
        stores = run_stores(state_file, trading)
        closing.callback(stores.close)
        output.folder.mkdir(parents=True, exist_ok=True)  # once nothing is refused: a refusal leaves no folder
        session = LocalSession.start(closing, trading, stores, dead_letters, output, record_from_scratch=True)
        with _progress_bar(source.total_rows, shown=progress) as advance:
            started = time.perf_counter()
            session.runtime.feed(recorded.chosen(bars), on_progress=advance)
            elapsed = time.perf_counter() - started + first_read_s
        summary = session.report(elapsed_s=elapsed, gaps=len(gaps))
    log.info(
        "replay finished",
        extra={"bars": summary["bars"], "seconds": round(elapsed, 3), "out": str(output.folder), "gaps": len(gaps)},
    )
    return summary


def _first_bar_read(source: ReplaySource, paths: Sequence[Path], dead_letters: DeadLetterFile) -> Iterator[BarClosed]:
    """The source's bars, once one of them has been read: inputs that hold none replay nothing, and saying
    so beats an empty report that looks like a strategy that never traded."""
    bars = iter(source)
    first = next(bars, None)
    if first is None:
        named = ", ".join(map(str, paths))
        refused = f"{dead_letters.count} refused: see {dead_letters.path}" if dead_letters.count else "no rows in them"
        raise UnreadableSource(f"no bar could be read from {named} ({refused}); give files of recorded bars")
    return itertools.chain([first], bars)


def _opening_within(bars: Iterable[BarClosed], from_ms: int | None, to_ms: int | None) -> Iterator[BarClosed]:
    start, end = from_ms if from_ms is not None else -1, to_ms if to_ms is not None else 2**63
    return (bar for bar in bars if start <= bar.open_time_ms < end)


@contextmanager
def _progress_bar(total_rows: int, *, shown: bool) -> Iterator[Callable[[int], None] | None]:
    """What hears how many bars went by: a progress bar on stderr, or nothing."""
    if not shown:
        yield None
        return
    from tqdm import tqdm  # only here: importing it loads multiprocessing, and each bar starts a monitor thread

    with tqdm(total=total_rows, unit="bar", unit_scale=True, leave=False) as progress:

        def advance(bars_done: int) -> None:
            progress.update(bars_done)

        yield advance
