"""The dashboard's SQLite reader on a state file a real runtime writes: new fills show up after each commit
(read incrementally), a chart bucket shows its last bar, and the streamer's counters come back as saved."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from events.dead_letters import DeadLetterFile
from events.streams import StreamKey
from infra.config import StdsConfig, StrategyLine
from infra.dashboard.sqlite_reader import SqliteReader
from infra.local.runtime import LocalRuntime
from infra.local.stores import sqlite_stores
from infra.local.stream_health import StreamHealthTable
from infra.strategy_loader import load_strategies
from producers.streamer.supervisor import StreamerHealth, StreamStatus
from tests.conftest import REPO_ROOT, spot_day_bars

STREAM = StreamKey("binance", "BTC/USDT", "1m")


def test_fills_written_after_the_first_look_are_read_on_the_next(tmp_path: Path) -> None:
    config = StdsConfig(strategies={"sma": StrategyLine(use="sma_cross", params={"fast": 3, "slow": 8})})
    stores = sqlite_stores(tmp_path / "state.sqlite", Decimal(100_000), 100)
    runtime = LocalRuntime(
        load_strategies(config, REPO_ROOT), stores, DeadLetterFile(tmp_path / "dead-letters.jsonl"),
        risk=config.risk_policy(), paper=config.paper,
    )  # fmt: skip
    bars = spot_day_bars(400)
    runtime.feed(bars[:200])
    reader = SqliteReader(tmp_path / "state.sqlite")
    early = [fill.order_id for fill in reader.fills()]
    assert reader.changed()

    runtime.feed(bars[200:])
    assert reader.changed() and not reader.changed()
    settled = sorted(
        (r.settlement.bar_open_time_ms, r.settlement.order_id) for r in stores.book.orders() if r.settlement is not None
    )
    assert 0 < len(early) < len(settled)
    assert [(f.bar_open_time_ms, f.order_id) for f in reader.fills()] == settled
    (account,) = reader.accounts()
    assert account.fills == len(settled)
    assert reader.streams()[STREAM].last_close == bars[-1].close
    stores.close()


def test_a_bucket_is_drawn_at_its_last_bar(tmp_path: Path) -> None:
    stores = sqlite_stores(tmp_path / "state.sqlite", Decimal(100_000), 100)
    bars = spot_day_bars(95)
    for bar in bars:
        stores.bars.add(bar)
    stores.commit()
    reader = SqliteReader(tmp_path / "state.sqlite")
    closes = reader.closes(STREAM, bars[0].open_time_ms, bars[-1].open_time_ms, 10 * 60_000)
    last_of_each = [*bars[9::10], bars[-1]]  # the tenth bar of every ten minutes, and the last, partial bucket's
    assert closes.times_ms == [bar.open_time_ms for bar in last_of_each]
    assert closes.closes == [float(bar.close) for bar in last_of_each]
    span = reader.streams()[STREAM]
    assert (span.first_open_time_ms, span.last_open_time_ms) == (bars[0].open_time_ms, bars[-1].open_time_ms)
    stores.close()


def test_the_streamer_counters_come_back_as_saved(tmp_path: Path) -> None:
    stores = sqlite_stores(tmp_path / "state.sqlite", Decimal(100_000), 100)
    reader = SqliteReader(tmp_path / "state.sqlite")
    assert reader.health().updated_ms is None  # nothing saved yet: a replay's state looks like this
    table = StreamHealthTable(tmp_path / "state.sqlite")
    status = StreamStatus(STREAM, 1_674_259_200_000, 2, 5, 0.4)
    table.save(StreamerHealth([status], published=100, backfilled=5, malformed=1, reconnects=3), force=True)
    health = reader.health()
    assert health.totals == {"published": 100, "backfilled": 5, "malformed": 1, "reconnects": 3}
    assert health.streams == [
        {
            "exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m", "last_open_time_ms": 1_674_259_200_000,
            "lag_bars": 2, "backfilled": 5, "seconds_since_publish": 0.4,
        }
    ]  # fmt: skip
    assert health.updated_ms is not None
    table.close()
    stores.close()
