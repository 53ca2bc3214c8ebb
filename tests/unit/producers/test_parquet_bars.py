"""The Parquet reader gives exactly the bars the CSV reader gives for the same rows, and refuses the same bad rows
with the same words: the CSV reader is the oracle, fed random rows (real ones, some of them spoilt)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.dead_letters import DeadLetterList
from producers.replay import parquet_bars
from producers.replay.sources import UnreadableSource, open_sources
from tests.unit.producers.test_replay_sources import SPOT_ROWS, read

HOSTILE_TEXTS = ["", "NaN", "-1", "abc", "1E+999999", "0", "1_000", " 7 ", "Infinity", "22000.5"]
CELL = {"open": 1, "high": 2, "low": 3, "close": 4, "volume": 5, "quote_volume": 7, "trades": 8}


def write_both(folder: Path, rows: list[list[str]]) -> tuple[Path, Path]:
    """The rows as a Binance kline CSV and as the Parquet file `stds download` writes (same stream, same values)."""
    csv = folder / "BTCUSDT-1m-2023-01-21.csv"
    csv.write_text("".join(",".join(row) + "\n" for row in rows))
    columns: dict[str, list[object]] = {
        "open_time": [int(row[0]) if row[0] else None for row in rows],
        **{name: [row[CELL[name]] or None for row in rows] for name in parquet_bars.DECIMAL_COLUMNS},
        "trades": [int(row[8]) if row[8] else None for row in rows],
    }
    metadata = {parquet_bars.EXCHANGE: b"binance", parquet_bars.SYMBOL: b"BTC/USDT", parquet_bars.TIMEFRAME: b"1m"}
    metadata[parquet_bars.COVERED] = json.dumps([]).encode()
    schema = parquet_bars.SCHEMA.with_metadata(metadata)
    parquet = folder / "BTCUSDT-1m-2023-01.parquet"
    pq.write_table(pa.table(columns, schema), parquet, row_group_size=97)  # several row groups and dictionaries
    return csv, parquet


@st.composite
def spoilt_rows(draw: st.DrawFn) -> list[list[str]]:
    start = draw(st.integers(0, 1000))
    rows = [line.split(",") for line in SPOT_ROWS[start : start + draw(st.integers(1, 400))]]
    for _ in range(draw(st.integers(0, 6))):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        name = draw(st.sampled_from(sorted(CELL)))
        text = draw(st.sampled_from(HOSTILE_TEXTS))
        if name == "trades" and text and not text.isdigit():
            text = ""  # an int64 column holds a whole number or nothing
        row[CELL[name]] = text
    for _ in range(draw(st.integers(0, 2))):  # a row moved: back in time, a repeat, a gap
        moved = rows.pop(draw(st.integers(0, len(rows) - 1)))
        rows.insert(draw(st.integers(0, len(rows))), moved)
    if draw(st.booleans()):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        row[0], row[6] = "", ""  # no open time: refused whole
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=spoilt_rows())
def test_parquet_reads_the_same_bars_and_refuses_the_same_rows_as_csv(tmp_path: Path, rows: list[list[str]]) -> None:
    csv, parquet = write_both(tmp_path, rows)
    csv_bars, csv_letters, csv_gaps = read(csv)
    parquet_bars_read, parquet_letters, parquet_gaps = read(parquet)
    assert parquet_bars_read == csv_bars
    assert parquet_gaps == csv_gaps
    assert [letter.error for letter in parquet_letters] == [letter.error for letter in csv_letters]
    assert [letter.origin.rsplit(":", 1)[1] for letter in csv_letters] == [
        letter.origin.rsplit(":row ", 1)[1] for letter in parquet_letters
    ]


def test_the_oracle_is_not_blind(tmp_path: Path) -> None:
    """A spoilt price is refused by both readers with the same words, and the row is named by its number."""
    rows = [line.split(",") for line in SPOT_ROWS[:10]]
    rows[4][2] = "abc"
    _, parquet = write_both(tmp_path, rows)
    bars, letters, _ = read(parquet)
    assert len(bars) == 9
    [letter] = letters
    assert (letter.origin, letter.error) == (f"{parquet}:row 5", "not a number: high 'abc'")
    assert letter.payload["high"] == "abc"


@pytest.mark.parametrize("spoilt", [1, 255, 299])
def test_a_spoilt_number_inside_a_row_group_leaves_the_rows_after_it_their_own_values(
    tmp_path: Path, spoilt: int
) -> None:
    """A text that is no number part way through a row group's column (row groups of 97 rows): every row keeps its
    own values and the spoilt row, and only it, is refused. Once, the rows of its group before it were counted
    twice: from row 1, a later run of 256 rows read its predecessors' values; at 255 and 299 (the last row of a
    run) the spoilt row itself was let through."""
    rows = [line.split(",") for line in SPOT_ROWS[:300]]
    rows[spoilt][CELL["quote_volume"]] = "abc"
    csv, parquet = write_both(tmp_path, rows)
    bars, letters, _ = read(parquet)
    assert bars == read(csv)[0]
    kept = rows[:spoilt] + rows[spoilt + 1 :]
    assert [bar.quote_volume for bar in bars] == [Decimal(row[CELL["quote_volume"]]) for row in kept]
    error = f"not a number: quote volume 'abc' or trades {rows[spoilt][CELL['trades']]!r}"
    assert [(letter.origin, letter.error) for letter in letters] == [(f"{parquet}:row {spoilt + 1}", error)]


def test_a_file_that_is_not_parquet_is_refused_before_the_replay_starts(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-01.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableSource, match="not a readable Parquet file"):
        open_sources([path], DeadLetterList())


def test_bars_without_quote_volume_or_trade_count_read_as_runs_not_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source that never had them (a ccxt OHLCV recording) stores them null throughout: no row of it is bad."""
    cells = [line.strip().split(",") for line in SPOT_ROWS[:50]]
    rows = [[*row[: CELL["quote_volume"]], "", "", *row[CELL["trades"] + 1 :]] for row in cells]
    csv, parquet = write_both(tmp_path, rows)

    def row_by_row(self: object, index: int) -> None:
        raise AssertionError(f"row {index} read on its own")

    monkeypatch.setattr(parquet_bars._ParquetRows, "row", row_by_row)
    bars = list(open_sources([parquet], DeadLetterList()))
    assert bars == list(open_sources([csv], DeadLetterList()))
    assert len(bars) == 50 and {(bar.quote_volume, bar.trades) for bar in bars} == {(None, None)}
