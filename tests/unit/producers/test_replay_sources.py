"""Recorded bars in every supported form become the right BarClosed events; bad rows are dead-lettered by file:line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.codec import encode
from events.dead_letters import DeadLetterList
from events.envelope import wrap
from events.models import BarClosed
from producers.replay.ohlcv_csv import parse_timestamp
from producers.replay.rows import InvalidBarRow
from producers.replay.sequencing import Gap
from producers.replay.sources import UnreadableSource, open_sources, paced
from producers.symbols import unified_symbol
from tests.conftest import BTCUSDT_SPOT_DAY, SHARED_DATA

SPOT_ROWS = BTCUSDT_SPOT_DAY.read_text().splitlines()
LINK_DAY = SHARED_DATA / "binance/futures/um/klines/1m/LINKUSDT/LINKUSDT-1m-2023-02-01.csv"
OHLCV_MONTH = SHARED_DATA / "binance/spot/ccxt_ohlcv/1m/ETHUSDT/ETHUSDT_1m_marzo_2025.csv"


def read(*paths: Path, **options: str) -> tuple[list[BarClosed], DeadLetterList, list[Gap]]:
    dead_letters, gaps = DeadLetterList(), []
    bars = list(open_sources(list(paths), dead_letters, on_gap=gaps.append, **options))  # type: ignore[arg-type]
    return bars, dead_letters, gaps


def test_binance_spot_day_reads_every_row_exactly() -> None:
    bars, dead_letters, gaps = read(BTCUSDT_SPOT_DAY)
    assert (len(bars), len(dead_letters), gaps) == (1440, 0, [])
    first = SPOT_ROWS[0].split(",")
    assert bars[0] == BarClosed(
        exchange="binance", symbol="BTC/USDT", timeframe="1m", open_time_ms=int(first[0]),
        close_time_ms=int(first[6]), open=Decimal(first[1]), high=Decimal(first[2]), low=Decimal(first[3]),
        close=Decimal(first[4]), volume=Decimal(first[5]), quote_volume=Decimal(first[7]), trades=int(first[8]),
    )  # fmt: skip
    assert str(bars[-1].close) == SPOT_ROWS[-1].split(",")[4]


def test_futures_file_is_binanceusdm_and_its_symbol_comes_from_the_name() -> None:
    bars, _, _ = read(LINK_DAY)
    assert {(bar.exchange, bar.symbol) for bar in bars} == {("binanceusdm", "LINK/USDT")}


def test_microsecond_timestamps_and_a_header_read_the_same_as_milliseconds(tmp_path: Path) -> None:
    header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,x,ignore"
    micro = []
    for line in SPOT_ROWS[:10]:
        cells = line.split(",")
        cells[0], cells[6] = cells[0] + "000", cells[6] + "999"
        micro.append(",".join(cells))
    path = tmp_path / "BTCUSDT-1m-2025-01-01.csv"
    path.write_text("\n".join([header, *micro]) + "\n")
    bars, dead_letters, _ = read(path)
    assert not len(dead_letters)
    assert bars == read(BTCUSDT_SPOT_DAY)[0][:10]


def test_ccxt_ohlcv_dates_are_utc() -> None:
    bars, _, _ = read(OHLCV_MONTH)
    assert len(bars) == 44_640
    assert bars[0].open_time_ms == 1_740_798_000_000  # 2025-03-01 03:00:00 UTC
    assert (bars[0].symbol, bars[0].close_time_ms - bars[0].open_time_ms) == ("ETH/USDT", 59_999)


@pytest.mark.parametrize(
    ("bad_row", "error"),
    [
        ("1674259200000,1,2,3", "expected 12 columns, found 4"),
        ("1674259200000,x,2,1,1.5,10,1674259259999,1,1,1,1,0", "not a number: open 'x'"),
        ("1674259200000,1.5,1,2,1.5,10,1674259259999,1,1,1,1,0", "high 1 < low 2"),
        ("1674259200000,3,2,1,1.5,10,1674259259999,1,1,1,1,0", "high 2 is below open 3"),
        ("1674259200000,1.5,2,1,1.5,-1,1674259259999,1,1,1,1,0", "volume -1 is negative"),
        ("1674259200000,1.5,2,1,1.5,1,1674259299999,1,1,1,1,0", "does not end the 1m bar"),
        ("1674259200001,1.5,2,1,1.5,1,1674259260000,1,1,1,1,0", "not aligned to the 1m interval"),
    ],
)
def test_a_bad_row_is_dead_lettered_with_file_and_line_and_the_rest_is_read(
    tmp_path: Path, bad_row: str, error: str
) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join([*SPOT_ROWS[:5], bad_row, *SPOT_ROWS[6:20]]) + "\n")
    bars, dead_letters, gaps = read(path)
    [letter] = dead_letters
    assert (letter.origin, letter.payload) == (f"{path}:6", bad_row)
    assert error in letter.error
    assert len(bars) == 19
    assert [g.missing_bars for g in gaps] == [1]  # the refused row leaves a reported gap


def test_repeated_row_is_dropped_and_a_row_back_in_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join([*SPOT_ROWS[:5], SPOT_ROWS[4], SPOT_ROWS[2], *SPOT_ROWS[5:8]]) + "\n")
    bars, dead_letters, gaps = read(path)
    assert [bar.open_time_ms for bar in bars] == [int(row.split(",")[0]) for row in SPOT_ROWS[:8]]
    [letter] = dead_letters
    assert letter.origin == f"{path}:7" and "goes back in time" in letter.error
    assert gaps == []


def test_a_gap_is_reported_not_bridged(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01-21.csv"
    path.write_text("\n".join(SPOT_ROWS[:10] + SPOT_ROWS[13:20]) + "\n")
    bars, _, gaps = read(path)
    assert len(bars) == 17
    assert gaps == [Gap("binance", "BTC/USDT", "1m", bars[9].open_time_ms, bars[10].open_time_ms, 3)]


def test_recorded_events_replay_their_bars_and_dead_letter_garbage(tmp_path: Path) -> None:
    bars, _, _ = read(BTCUSDT_SPOT_DAY)
    recording = tmp_path / "run.jsonl"
    lines = [encode(wrap(bar, bar.closed_at)) for bar in bars[:50]]
    recording.write_bytes(b"\n".join([*lines[:10], b"{broken", *lines[10:]]) + b"\n")
    replayed, dead_letters, _ = read(recording)
    assert replayed == bars[:50]
    [letter] = dead_letters
    assert letter.origin == f"{recording}:11"


@settings(max_examples=20, deadline=None)
@given(st.sets(st.sampled_from(["ALGOUSDT", "AVAXUSDT", "FILUSDT", "LINKUSDT", "NEARUSDT"]), min_size=2))
def test_several_symbols_merge_in_time_order(symbols: set[str]) -> None:
    paths = [SHARED_DATA / f"binance/futures/um/klines/1m/{s}/{s}-1m-2023-02-03.csv" for s in sorted(symbols)]
    bars, _, _ = read(*paths)
    assert len(bars) == 1440 * len(symbols)
    keys = [(bar.open_time_ms, bar.symbol) for bar in bars]
    assert keys == sorted(keys)


def test_unreadable_paths_say_what_to_do(tmp_path: Path) -> None:
    odd = tmp_path / "prices.csv"
    odd.write_text("2025-03-01 03:00:00,1,2,0.5,1.5,10\n")
    with pytest.raises(UnreadableSource, match="pass --symbol"):
        read(odd)
    bars, _, _ = read(odd, symbol="SOL/USDT")
    assert bars[0].symbol == "SOL/USDT"
    with pytest.raises(UnreadableSource, match="no such file"):
        read(tmp_path / "missing.csv")


def test_symbols_are_unified_by_their_quote_asset() -> None:
    assert unified_symbol("BTCUSDT") == "BTC/USDT"
    assert unified_symbol("ETHBTC") == "ETH/BTC"
    assert unified_symbol("BTCFDUSD") == "BTC/FDUSD"
    assert unified_symbol("xyz") is None


def test_paced_replay_follows_market_time_divided_by_speed() -> None:
    bars, _, _ = read(BTCUSDT_SPOT_DAY)
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 9))
        now[0] += seconds

    list(paced(bars[:4], speed=60_000.0, sleep=sleep, clock=lambda: now[0]))
    assert slept == [0.001, 0.001, 0.001]  # 60 s of market time / 60,000


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_a_date_time_parses_as_python_reads_it_in_utc(moment: datetime) -> None:
    text = moment.replace(microsecond=0).isoformat(sep=" ")
    expected = int(moment.replace(microsecond=0, tzinfo=UTC).timestamp() * 1000)
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2025-02-30 00:00:00", "2025-03-01 24:00:00", "2025-03-01 23:59:60", "2025-3-01 1:00:00"]
)
def test_an_impossible_date_time_is_refused_whatever_its_shape(text: str) -> None:
    with pytest.raises(InvalidBarRow, match="neither epoch ms nor"):
        parse_timestamp(text)


def test_a_recording_of_minute_batches_replays_each_bar(tmp_path: Path) -> None:
    """What an AWS deployment publishes (and its archive replays) is a recording `stds replay` reads too."""
    from events.minute_batches import batches_of
    from producers.replay.recorded_events import read_recorded_bars
    from tests.conftest import spot_day_bars

    btc = spot_day_bars(limit=2)
    eth = [bar.model_copy(update={"symbol": "ETH/USDT"}) for bar in btc]
    recording = tmp_path / "aws.jsonl"
    recording.write_bytes(
        b"".join(encode(wrap(batch)) + b"\n" for batch in batches_of([btc[0], eth[0], btc[1], eth[1]]))
    )
    dead = DeadLetterList()
    assert [bar for _, bar in read_recorded_bars(recording, dead)] == [btc[0], eth[0], btc[1], eth[1]]
    assert len(dead) == 0
