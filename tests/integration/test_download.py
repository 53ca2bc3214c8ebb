"""`stds download` against the local Binance (REST klines with its weight limit and faults) and a loopback archive
(zips with CHECKSUM files): what it stores is exactly the exchange's closed bars, and a run asks only for what is
missing. The recorded LINKUSDT days (futures bars in the archive's format) are served as a spot market here."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from events.dead_letters import DeadLetterList
from events.models import BarClosed
from infra.cli import main
from producers.download.archive import BinanceArchive
from producers.download.downloader import Downloader, DownloadReport, DownloadRequest
from producers.download.rest import ExchangeBanned, KlinesRest
from producers.replay.sources import open_sources
from tests.integration.binance_archive import LocalArchive
from tools.local_exchange.rest_limits import RestFaultPlan, RestLimits
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import FixedClock, Tape

REPO = Path(__file__).resolve().parents[2]
DAYS = REPO.parent / "shared/data/binance/futures/um/klines/1m/LINKUSDT"
DAY_MS = 86_400_000
FEB_1 = 1_675_209_600_000  # 2023-02-01 00:00 UTC
MINUTE = 60_000
SYMBOL = "LINK/USDT"


def day_file(day: int) -> Path:
    return DAYS / f"LINKUSDT-1m-2023-02-{day:02d}.csv"


BARS = list(open_sources([day_file(day) for day in range(1, 6)], DeadLetterList(), exchange="binance"))


@dataclass
class FakeTime:
    """Seconds that move only when a client sleeps: the server's weight minute and the client's waits agree."""

    now: float
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Venue:
    exchange: LocalBinance
    rest_url: str
    archive: LocalArchive
    archive_url: str
    time: FakeTime

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.exchange.clock, FixedClock)
        return self.exchange.clock

    def download(
        self,
        out: Path,
        *,
        since_ms: int = FEB_1,
        until_ms: int | None = None,
        source: str = "auto",
        dead_letters: DeadLetterList | None = None,
    ) -> DownloadReport:
        rest = KlinesRest(self.rest_url, sleep=self.time.sleep, clock=self.time.time)
        markets = {SYMBOL: rest.markets()[SYMBOL]}
        request = DownloadRequest("binance", markets, "1m", since_ms, until_ms, out, source)
        archive = BinanceArchive(self.archive_url, sleep=self.time.sleep)
        letters = DeadLetterList() if dead_letters is None else dead_letters
        return Downloader(request, archive, rest, letters, rest.server_time_ms()).run()

    def klines_requests(self) -> int:
        return self.exchange.rest_limits.requests.get("/api/v3/klines", 0)


@contextlib.contextmanager
def venue(
    bars: list[BarClosed] = BARS,
    now_ms: int = FEB_1 + 4 * DAY_MS + 10 * 3_600_000 + 30 * MINUTE + 30_000,  # Feb 5 10:30:30: 10:30 is forming
    archive_days: range = range(1, 4),
    limits: RestLimits | None = None,
) -> Iterator[Venue]:
    fake_time = FakeTime(1_000_000.0)
    limits = limits or RestLimits(clock=fake_time.time)
    limits.clock = fake_time.time
    exchange = LocalBinance(Tape.of(bars), speed=1, rest_limits=limits, clock=FixedClock(now_ms))
    archive = LocalArchive()
    for day in archive_days:
        archive.add("daily", "LINKUSDT", "1m", f"2023-02-{day:02d}", day_file(day).read_bytes())
    with exchange.serving_in_thread() as (_, rest_url), archive.serving() as archive_url:
        yield Venue(exchange, rest_url, archive, archive_url, fake_time)


def stored(out: Path) -> list[BarClosed]:
    letters = DeadLetterList()
    bars = list(open_sources([out], letters))
    assert not letters.letters
    return bars


def closed_before(end_ms: int, bars: list[BarClosed] = BARS, start_ms: int = FEB_1) -> list[BarClosed]:
    return [bar for bar in bars if start_ms <= bar.open_time_ms < end_ms]


FORMING_OPEN = FEB_1 + 4 * DAY_MS + 10 * 3_600_000 + 30 * MINUTE


def test_closed_days_come_from_the_archive_the_rest_from_rest_and_the_forming_candle_is_never_stored(
    tmp_path: Path,
) -> None:
    with venue() as place:
        report = place.download(tmp_path)
        klines = place.klines_requests()
    assert stored(tmp_path) == closed_before(FORMING_OPEN)
    assert report.end_ms == FORMING_OPEN
    assert report.archive_files == 3  # Feb 1-3; Feb 4 is not in the archive: REST, like today's hours
    assert klines == 3  # 1440 + 630 bars: two pages, and one that says there is no more
    assert [stream.gaps for stream in report.streams] == [[]]
    assert list((tmp_path / "binance/1m/LINKUSDT").iterdir()) == [
        tmp_path / "binance/1m/LINKUSDT/LINKUSDT-1m-2023-02.parquet"
    ]


def test_a_second_run_asks_for_nothing_and_a_later_one_only_for_the_new_bars(tmp_path: Path) -> None:
    with venue() as place:
        place.download(tmp_path)
        archive_before, klines_before = place.archive.archive_requests(), place.klines_requests()
        again = place.download(tmp_path)
        assert (place.archive.archive_requests(), place.klines_requests()) == (archive_before, klines_before)
        assert again.streams[0].new_bars == 0
        place.clock.now += 20_000  # 10:30:50: the same candle is still forming
        assert place.download(tmp_path).streams[0].new_bars == 0
        place.clock.now += 10 * MINUTE
        later = place.download(tmp_path)
        assert place.klines_requests() == klines_before + 1
    assert later.streams[0].new_bars == 10
    assert stored(tmp_path) == closed_before(FORMING_OPEN + 10 * MINUTE)  # 10:30 with its final close, not the open


def test_a_corrupt_zip_is_refused_and_fetched_again(tmp_path: Path) -> None:
    with venue() as place:
        corrupt = "/data/spot/daily/klines/LINKUSDT/1m/LINKUSDT-1m-2023-02-02.zip"
        place.archive.corrupt_times[corrupt] = 1
        report = place.download(tmp_path, until_ms=FEB_1 + 3 * DAY_MS)
        assert place.archive.requests[corrupt] == 2
    assert len(report.archive_refused) == 1 and "differs from the CHECKSUM" in report.archive_refused[0]
    assert report.archive_files == 3
    assert stored(tmp_path) == closed_before(FEB_1 + 3 * DAY_MS)


def test_a_zip_that_stays_corrupt_is_reported_and_left_out_of_an_archive_only_run(tmp_path: Path) -> None:
    with venue() as place:
        corrupt = "/data/spot/daily/klines/LINKUSDT/1m/LINKUSDT-1m-2023-02-02.zip"
        place.archive.corrupt_times[corrupt] = 99
        report = place.download(tmp_path, until_ms=FEB_1 + 3 * DAY_MS, source="archive")
        assert place.klines_requests() == 0
    assert len(report.archive_problems) == 1 and "refused 4 times" in report.archive_problems[0]
    assert report.streams[0].unavailable == [(FEB_1 + DAY_MS, FEB_1 + 2 * DAY_MS)]
    day_2 = range(FEB_1 + DAY_MS, FEB_1 + 2 * DAY_MS)
    assert stored(tmp_path) == [bar for bar in closed_before(FEB_1 + 3 * DAY_MS) if bar.open_time_ms not in day_2]


def test_a_gap_the_exchange_has_is_reported_never_filled_and_not_asked_for_again(tmp_path: Path) -> None:
    hole = range(FEB_1 + 3 * DAY_MS + 60 * MINUTE, FEB_1 + 3 * DAY_MS + 90 * MINUTE)  # Feb 4 01:00-01:29
    with venue([bar for bar in BARS if bar.open_time_ms not in hole]) as place:
        report = place.download(tmp_path)
        klines = place.klines_requests()
        again = place.download(tmp_path)
        assert place.klines_requests() == klines
    (gap,) = report.streams[0].gaps
    assert (gap.after_open_time_ms, gap.next_open_time_ms, gap.missing_bars) == (hole[0] - MINUTE, hole[-1] + 1, 30)
    assert again.streams[0].gaps == [gap]
    assert stored(tmp_path) == [bar for bar in closed_before(FORMING_OPEN) if bar.open_time_ms not in hole]


def test_spot_files_in_microseconds_from_2025_join_the_millisecond_ones(tmp_path: Path) -> None:
    """Binance's spot archive switched to µs timestamps on 2025-01-01 (synthetic days: Feb 1-2 2023 moved)."""
    shift_ms = 1_735_603_200_000 - FEB_1  # Feb 1 2023 → Dec 31 2024
    dec_31 = _shifted(day_file(1), shift_ms, scale=1)
    jan_1 = _shifted(day_file(2), shift_ms, scale=1000)
    with venue(now_ms=1_735_603_200_000 + 2 * DAY_MS + 1, archive_days=range(0)) as place:
        place.archive.add("daily", "LINKUSDT", "1m", "2024-12-31", dec_31)
        place.archive.add("daily", "LINKUSDT", "1m", "2025-01-01", jan_1)
        report = place.download(tmp_path, since_ms=1_735_603_200_000, source="archive")
    bars = stored(tmp_path)
    assert [bar.open_time_ms for bar in bars] == list(range(1_735_603_200_000, 1_735_603_200_000 + 2 * DAY_MS, MINUTE))
    assert [bar.close for bar in bars] == [bar.close for bar in BARS[: 2 * 1440]]
    assert report.streams[0].gaps == []


def _shifted(path: Path, shift_ms: int, scale: int) -> bytes:
    lines = []
    for line in path.read_text().splitlines():
        fields = line.split(",")
        fields[0] = str((int(fields[0]) + shift_ms) * scale)
        fields[6] = str((int(fields[6]) + shift_ms) * scale + (scale - 1))
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


def test_rest_faults_are_ridden_out_and_change_nothing(tmp_path: Path) -> None:
    faults = RestFaultPlan(server_error=0.2, too_many_requests=0.1, drop=0.1, seed=3)
    with venue(archive_days=range(0), limits=RestLimits(faults=faults)) as place:
        report = place.download(tmp_path)
        answered = dict(place.exchange.rest_limits.answered)
    assert stored(tmp_path) == closed_before(FORMING_OPEN)
    assert answered.get(429, 0) > 0 and answered.get(500, 0) + answered.get(503, 0) > 0
    assert answered.get(599, 0) > 0  # connections closed with no answer
    assert report.waited_s == sum(place.time.slept)


def test_near_the_weight_limit_it_waits_for_the_next_minute_instead_of_being_refused(tmp_path: Path) -> None:
    with venue(archive_days=range(0), limits=RestLimits(limit_1m=40)) as place:
        report = place.download(tmp_path)
        answered = dict(place.exchange.rest_limits.answered)
    assert stored(tmp_path) == closed_before(FORMING_OPEN)
    assert set(answered) == {200}  # never a 429: the used weight was read from each answer
    assert report.waited_s > 0


def test_a_ban_stops_the_run_and_says_until_when(tmp_path: Path) -> None:
    with venue(archive_days=range(0), limits=RestLimits(limit_1m=24, ban_after_429s=0)) as place:
        rest = KlinesRest(place.rest_url, sleep=place.time.sleep, clock=place.time.time)
        rest.weight_limit_1m = 10_000  # a client that does not know the limit, so runs into it
        rest.exchange.load_markets()
        with pytest.raises(ExchangeBanned, match=r"banned this IP until .* UTC") as banned:
            for _ in range(5):
                rest.page("LINKUSDT", "1m", FEB_1, FEB_1 + DAY_MS)
    assert banned.value.until.timestamp() == place.time.now + 120


def test_a_run_killed_mid_way_is_finished_by_the_same_command(tmp_path: Path) -> None:
    with venue() as place:
        held, reached = place.archive.hold("/data/spot/daily/klines/LINKUSDT/1m/LINKUSDT-1m-2023-02-03.zip")
        command = [
            *("download", "--symbols", SYMBOL, "--since", "2023-02-01", "--no-progress"),
            *("--rest-url", place.rest_url, "--archive-url", place.archive_url),
        ]
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        cli = [sys.executable, "-m", "infra.cli", *command]
        killed = subprocess.Popen([*cli, "--out", str(tmp_path / "killed")], env=environment, stdout=subprocess.DEVNULL)
        try:
            assert reached.wait(120), "the download never reached the third day"
            os.kill(killed.pid, signal.SIGKILL)
        finally:
            killed.wait(30)
            held.set()
        partial = stored(tmp_path / "killed")
        assert partial == closed_before(FEB_1 + 2 * DAY_MS)  # the first two days were kept whole
        subprocess.run([*cli, "--out", str(tmp_path / "killed")], env=environment, check=True, capture_output=True)
        subprocess.run([*cli, "--out", str(tmp_path / "clean")], env=environment, check=True, capture_output=True)
    resumed = sorted((tmp_path / "killed").rglob("*.parquet"))
    clean = sorted((tmp_path / "clean").rglob("*.parquet"))
    assert [path.read_bytes() for path in resumed] == [path.read_bytes() for path in clean]
    assert stored(tmp_path / "killed") == closed_before(FORMING_OPEN)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--symbols", "LINK/USDX"], "LINK/USDX: not a spot market of http://127.0.0.1:"),
        (["--symbols", SYMBOL, "--since", "2023-02-30"], "--since '2023-02-30' is not a date: give YYYY-MM-DD"),
        (["--pairs", "NOPE/.*"], "--pairs 'NOPE/.*' matches no spot market"),
    ],
)
def test_bad_input_is_one_line_saying_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], words: str
) -> None:
    with venue() as place:
        since = [] if "--since" in arguments else ["--since", "2023-02-01"]
        code = main(["download", *arguments, *since, "--rest-url", place.rest_url, "--out", str(tmp_path)])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and error.startswith("stds download: ") and words in error


def test_an_unreachable_exchange_is_one_line_saying_what_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    code = main(
        [
            "download",
            "--symbols",
            SYMBOL,
            "--since",
            "2023-02-01",
            "--rest-url",
            "http://127.0.0.1:9",
            "--out",
            str(tmp_path),
        ]
    )
    error = capsys.readouterr().err
    assert code == 1
    *retries, last = error.splitlines()  # each retry is logged as it waits; the error itself is one line
    assert len(retries) == 5 and all(line.startswith("warning waiting") for line in retries)
    assert last.startswith("stds download: cannot reach the exchange at http://127.0.0.1:9")
    assert last.endswith("check the network (or --rest-url) and run again")


def test_the_command_downloads_every_matching_pair_and_says_what_it_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with venue() as place:
        urls = ["--rest-url", place.rest_url, "--archive-url", place.archive_url]
        code = main(["download", "--pairs", "LINK/.*", "--since", "2023-02-05", *urls, "--out", str(tmp_path)])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed[0] == "LINK/USDT 1m: 630 bars (2023-02-05 00:00 → 2023-02-05 10:29), 630 new"
    assert printed[1].endswith("the candle opening at 2023-02-05 10:30 was still forming (not stored)")
    assert printed[2].startswith("0 archive file(s), 3 REST request(s)")  # exchangeInfo, time, one page
    assert stored(tmp_path) == closed_before(FORMING_OPEN, start_ms=FEB_1 + 4 * DAY_MS)


def test_any_timeframe_the_archive_has_is_stored_under_its_name(tmp_path: Path) -> None:
    """Binance's own 5m bars of 2021-05-07 (freqtrade's file) served as the archive's daily 5m zip."""
    source = REPO.parent / "shared/data/binance/spot/freqtrade_json/5m/BTC_USDT-5m.json"
    may_7 = 1_620_345_600_000
    expected = [bar for bar in open_sources([source], DeadLetterList()) if may_7 <= bar.open_time_ms < may_7 + DAY_MS]
    rows = "".join(
        f"{bar.open_time_ms},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume},{bar.close_time_ms},,,,,\n"
        for bar in expected
    )
    archive = LocalArchive()
    archive.add("daily", "BTCUSDT", "5m", "2021-05-07", rows.encode())
    with archive.serving() as archive_url:
        request = DownloadRequest("binance", {"BTC/USDT": "BTCUSDT"}, "5m", may_7, may_7 + DAY_MS, tmp_path, "archive")
        report = Downloader(request, BinanceArchive(archive_url), None, DeadLetterList(), may_7 + 2 * DAY_MS).run()
    assert report.streams[0].bars == 288
    assert (tmp_path / "binance/5m/BTCUSDT/BTCUSDT-5m-2021-05.parquet").is_file()
    assert stored(tmp_path) == expected


def test_a_spoilt_archive_row_is_refused_by_the_zip_and_line_it_came_from(tmp_path: Path) -> None:
    lines = day_file(1).read_text().splitlines()
    cells = lines[16].split(",")
    cells[2] = "-1"  # high below the low
    lines[16] = ",".join(cells)
    letters = DeadLetterList()
    with venue(archive_days=range(0)) as place:
        zip_path = place.archive.add("daily", "LINKUSDT", "1m", "2023-02-01", ("\n".join(lines) + "\n").encode())
        report = place.download(tmp_path, until_ms=FEB_1 + DAY_MS, source="archive", dead_letters=letters)
    [letter] = letters
    assert letter.origin == f"{place.archive_url}{zip_path}:17"
    assert letter.payload == lines[16]
    assert [gap.missing_bars for gap in report.streams[0].gaps] == [1]
    assert stored(tmp_path) == [bar for bar in closed_before(FEB_1 + DAY_MS) if bar.open_time_ms != FEB_1 + 16 * MINUTE]
