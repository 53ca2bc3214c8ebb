"""freqtrade's JSON data files replay as bars, exactly (no float on the way), bad rows dead-lettered by file:row."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from events.dead_letters import DeadLetterList
from events.models import BarClosed
from producers.replay.sources import UnreadableSource, open_sources
from tests.conftest import SHARED_DATA

FREQTRADE = SHARED_DATA / "binance/spot/freqtrade_json/1m"
BTC_DAY = FREQTRADE / "2021-05-07/BTC_USDT-1m.json"


def read(*paths: Path, **options: str) -> tuple[list[BarClosed], DeadLetterList]:
    dead_letters = DeadLetterList()
    source = open_sources(list(paths), dead_letters, **options)  # type: ignore[arg-type]
    return list(source), dead_letters


def test_a_freqtrade_day_reads_every_row_exactly_as_written() -> None:
    bars, dead_letters = read(BTC_DAY)
    texts = json.loads(BTC_DAY.read_bytes(), parse_float=str, parse_int=str)
    assert (len(bars), len(dead_letters)) == (1440, 0)
    assert bars[0] == BarClosed(
        exchange="binance", symbol="BTC/USDT", timeframe="1m", open_time_ms=1620345600000,
        close_time_ms=1620345659999, open=Decimal("56393.68"), high=Decimal("56451.42"), low=Decimal("56383.84"),
        close=Decimal("56446.99"), volume=Decimal("64.491"),
    )  # fmt: skip
    assert [str(bar.close) for bar in bars] == [row[4] for row in texts]  # the file's own digits, every row
    assert bars[-1].open_time_ms == 1620345600000 + 1439 * 60_000


def test_a_tiny_price_keeps_its_digits() -> None:
    """Pairs priced near 0.0008 (e.g. BTT) lose digits through a float's repr; a Decimal from the text does not."""
    bars, _ = read(FREQTRADE / "2021-05-07/BTT_USDT-1m.json")
    texts = json.loads((FREQTRADE / "2021-05-07/BTT_USDT-1m.json").read_bytes(), parse_float=str, parse_int=str)
    assert [(str(bar.low), str(bar.volume)) for bar in bars] == [(row[3], row[5]) for row in texts]


def test_day_folders_of_many_pairs_merge_in_time_order() -> None:
    days = [FREQTRADE / "2021-05-08", FREQTRADE / "2021-05-07"]  # given out of order on purpose
    bars, dead_letters = read(*days)
    pairs = {bar.symbol for bar in bars}
    assert len(pairs) == 94 and {"BTC/USDT", "1INCH/USDT", "AUD/USDT"} <= pairs
    assert len(bars) == 94 * 2 * 1440 and not len(dead_letters)
    keys = [(bar.open_time_ms, bar.exchange, bar.symbol) for bar in bars]
    assert keys == sorted(keys)


def test_a_bad_row_is_dead_lettered_by_file_and_row_and_the_rest_goes_on(tmp_path: Path) -> None:
    rows = json.loads(BTC_DAY.read_bytes(), parse_float=str, parse_int=str)[:5]
    text = "[" + ",".join("[" + ",".join(row) + "]" for row in rows) + "]"
    broken = text.replace(rows[1][2], "1", 1)  # row 2: high below low
    broken = broken.replace("[" + rows[3][0], '["x"', 1)  # row 4: a string where a number goes
    path = tmp_path / "BTC_USDT-1m.json"
    path.write_text(broken.replace("]]", "],[1620345900000,1,2]]"))  # row 6: too short
    bars, dead_letters = read(path)
    assert [bar.open_time_ms for bar in bars] == [int(rows[n][0]) for n in (0, 2, 4)]
    assert [(letter.origin, letter.error.split(":")[0]) for letter in dead_letters] == [
        (f"{path}:row 2", f"high 1 < low {rows[1][3]}"),
        (f"{path}:row 4", "every value of a row must be a JSON number"),
        (f"{path}:row 6", "expected a row of 6 numbers [open_time_ms, open, high, low, close, volume]"),
    ]


def test_a_file_that_is_not_json_is_dead_lettered_whole(tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT-1m.json"
    path.write_text("[[1620345600000, 1, 2, 0.5, 1.5, 3],")
    bars, dead_letters = read(path)
    assert bars == []
    assert [letter.origin for letter in dead_letters] == [str(path)]
    assert "not a freqtrade JSON file" in dead_letters.letters[0].error


def test_a_name_without_a_pair_asks_for_one(tmp_path: Path) -> None:
    path = tmp_path / "candles.json"
    path.write_text(BTC_DAY.read_text())
    with pytest.raises(UnreadableSource, match=r"BASE_QUOTE-TIMEFRAME\.json"):
        read(path)
    bars, _ = read(path, symbol="BTC/USDT")
    assert len(bars) == 1440 and bars[0].symbol == "BTC/USDT"


def test_stds_replay_trades_a_freqtrade_day_folder(tmp_path: Path) -> None:
    """What a freqtrade user does: point `stds replay` at a day of their data folder."""
    from infra.cli import main

    day = tmp_path / "data"
    day.mkdir()
    for base in ("BTC", "ETH", "DOGE"):
        (day / f"{base}_USDT-1m.json").write_bytes((FREQTRADE / "2021-05-12" / f"{base}_USDT-1m.json").read_bytes())
    config = tmp_path / "strategies.toml"
    config.write_text(
        '[strategies]\nsma = { use = "sma_cross", symbols = ["BTC/USDT", "ETH/USDT", "DOGE/USDT"], '
        'params = { fast = 10, slow = 30, qty = "0.01" } }\n'
    )
    out = tmp_path / "out"
    assert main(["replay", str(day), "--config", str(config), "--out", str(out), "--no-progress", "--no-chart"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bars"] == 3 * 1440
    traded = {line.split(",")[2] for line in (out / "trades.csv").read_text().splitlines()[1:]}
    assert traded == {"BTC/USDT", "ETH/USDT", "DOGE/USDT"}
