"""`make bench`, download part: how fast `stds download` fetches from the local Binance (REST) and a loopback
archive, and how fast `stds replay` reads what it writes (Parquet) against the Binance CSV it would read otherwise.

The read figures use one symbol-year of 1m bars (525,600), SYNTHETIC: the recorded LINKUSDT February 2023 repeated
and shifted in time, written as monthly files in both formats. The reader alone is `open_sources` turning the files
into BarClosed; end to end is `stds replay` (one sma_cross) in a fresh process on one month of those files.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

from events.dead_letters import DeadLetterList
from events.models import BarClosed
from producers.download.archive import BinanceArchive
from producers.download.downloader import Downloader, DownloadRequest
from producers.download.rest import KlinesRest
from producers.download.spans import month_start_ms
from producers.download.store import StreamFiles
from producers.replay.sources import open_sources
from tests.integration.binance_archive import LocalArchive
from tests.performance.bench_replay import replay_process
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import FixedClock, Tape

REPO = Path(__file__).resolve().parents[2]
LINK = REPO.parent / "shared/data/binance/futures/um/klines/1m/LINKUSDT"
YEAR_BARS = 525_600
MINUTE_MS = 60_000
DAY_MS = 86_400_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is reported")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    folder = Path(tempfile.mkdtemp(prefix="stds-bench-download-"))
    try:
        _download_rates(folder, args.repeat)
        _read_rates(folder, args.repeat)
    finally:
        shutil.rmtree(folder)


def _download_rates(folder: Path, repeat: int) -> None:
    days = sorted(LINK.glob("*.csv"))[:7]
    bars = list(open_sources(days, DeadLetterList(), exchange="binance"))
    now_ms = bars[-1].close_time_ms + 1
    exchange = LocalBinance(Tape.of(bars), speed=1, clock=FixedClock(now_ms))
    archive = LocalArchive()
    for path in days:
        archive.add("daily", "LINKUSDT", "1m", path.stem.removeprefix("LINKUSDT-1m-"), path.read_bytes())
    with exchange.serving_in_thread() as (_, rest_url), archive.serving() as archive_url:
        for source in ("rest", "archive"):
            best = min(
                _download_seconds(folder / f"{source}-{run}", source, rest_url, archive_url) for run in range(repeat)
            )
            where = "the local Binance's REST klines" if source == "rest" else "loopback archive zips (daily)"
            print(f"stds download from {where:<32} {len(bars) / best:>10,.0f} bars/s  ({len(bars):,} bars)")


def _download_seconds(out: Path, source: str, rest_url: str, archive_url: str) -> float:
    started = time.perf_counter()
    rest = KlinesRest(rest_url)
    markets = {"LINK/USDT": rest.markets()["LINK/USDT"]}
    request = DownloadRequest("binance", markets, "1m", _first_open_ms(), None, out, source)
    Downloader(request, BinanceArchive(archive_url), rest, DeadLetterList(), rest.server_time_ms()).run()
    return time.perf_counter() - started


def _first_open_ms() -> int:
    return int(next(iter(LINK.glob("*-2023-02-01.csv"))).read_text().split(",", 1)[0])


def _read_rates(folder: Path, repeat: int) -> None:
    bars = _synthetic_year()
    csv_folder, parquet_folder = folder / "csv", folder / "parquet"
    _write_csv_months(bars, csv_folder)
    _write_parquet_months(bars, parquet_folder)
    print(f"data: {len(bars):,} 1m bars, one SYNTHETIC symbol-year (LINKUSDT Feb 2023 repeated), 12+ monthly files")
    for label, path in [("Binance CSV", csv_folder), ("Parquet (stds download)", parquet_folder)]:
        wall, cpu = min(_read_seconds(path) for _ in range(repeat))
        size = sum(file.stat().st_size for file in path.rglob("*.*")) / 1e6
        print(
            f"read {label:<24} → BarClosed {len(bars) / wall:>10,.0f} bars/s  ({wall:.2f} s wall, {cpu:.2f} s CPU: "
            f"{len(bars) / cpu:,.0f} bars per CPU second; {size:,.0f} MB)"
        )
    one = ["--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", "--db", ":memory:"]
    for label, path in [("Binance CSV", csv_folder), ("Parquet (stds download)", parquet_folder)]:
        month = tuple(sorted(path.rglob("*-2023-03.*")))
        wall, cpu, count = min(replay_process([*one, "--out", str(folder / "out")], month) for _ in range(repeat))
        print(
            f"stds replay, one month of {label:<24} {count / wall:>8,.0f} bars/s  ({wall:.2f} s wall, {cpu:.2f} s CPU)"
        )


def _read_seconds(path: Path) -> tuple[float, float]:
    """(wall s, CPU s) of reading every file under `path` into BarClosed."""
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in open_sources([path], DeadLetterList()))
    assert count == YEAR_BARS, count
    return time.perf_counter() - started, time.process_time() - cpu


def _synthetic_year() -> list[BarClosed]:
    month = list(open_sources([LINK], DeadLetterList(), exchange="binance"))
    shift_ms = len(month) * MINUTE_MS
    return [
        month[index % len(month)].model_copy(
            update={
                "open_time_ms": month[index % len(month)].open_time_ms + index // len(month) * shift_ms,
                "close_time_ms": month[index % len(month)].close_time_ms + index // len(month) * shift_ms,
            }
        )
        for index in range(YEAR_BARS)
    ]


def _write_csv_months(bars: list[BarClosed], folder: Path) -> None:
    by_month: dict[int, list[str]] = {}
    for bar in bars:
        row = (
            f"{bar.open_time_ms},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume},{bar.close_time_ms},"
            f"{bar.quote_volume},{bar.trades},0,0,0"
        )
        by_month.setdefault(month_start_ms(bar.open_time_ms), []).append(row)
    folder.mkdir(parents=True)
    files = StreamFiles(folder, "binance", "LINK/USDT", "LINKUSDT", "1m")
    for month_ms, rows in by_month.items():
        (folder / files.path(month_ms).with_suffix(".csv").name).write_text("\n".join(rows) + "\n")


def _write_parquet_months(bars: list[BarClosed], folder: Path) -> None:
    files = StreamFiles(folder, "binance", "LINK/USDT", "LINKUSDT", "1m")
    by_month: dict[int, list[BarClosed]] = {}
    for bar in bars:
        by_month.setdefault(month_start_ms(bar.open_time_ms), []).append(bar)
    for month_ms, month_bars in by_month.items():
        month = files.open(month_ms)
        month.add(month_bars, (month_bars[0].open_time_ms, month_bars[-1].close_time_ms + 1))
        month.save()


if __name__ == "__main__":
    main()
