"""Invariant 9 end to end: a 5m sma_cross trades the same whether its 5m bars are built from the minutes by the
replay, read from Binance's own 5m klines, or built live from a faulty local Binance's minutes by `stds run`; its
recording replays exactly; and files of any timeframe replay directly, or say why nothing traded."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from pathlib import Path

import pytest

from events.aggregation import BarAggregator
from events.codec import decode
from events.dead_letters import DeadLetterList
from events.eventbridge_bus import EventBridgeBus
from events.minute_batches import batch_pattern
from events.models import BarClosed
from infra.aws.stream import StreamOptions, run_stream
from infra.cli import main
from infra.config import StdsConfig, StrategyLine
from infra.local.live import LiveOptions, run_live
from producers.replay.sources import open_sources
from producers.streamer.connection import ConnectionSettings
from producers.streamer.supervisor import StreamerSettings
from tests.conftest import SHARED_DATA
from tests.emulators.aws import archived_bars, bars_in, client, envelopes_in, queue_behind_rule
from tools.local_exchange.faults import Fault, FaultPlan
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

FREQTRADE = SHARED_DATA / "binance/spot/freqtrade_json"
DAYS = ("2021-05-07", "2021-05-08")
MINUTES = [FREQTRADE / f"1m/{day}/BTC_USDT-1m.json" for day in DAYS]
EXCHANGE_5M = FREQTRADE / "5m/BTC_USDT-5m.json"
END_OF_DAYS = "2021-05-09T00:00:00Z"  # the minutes' end; the exchange's 5m file goes on to 05-13
FAST = ConnectionSettings(silence_s=0.5, backoff_base_s=0.02, backoff_cap_s=0.3)
REPLAY = ["--strategy", "sma_cross", "--timeframe", "5m", "--no-progress", "--no-chart"]


def trades(out: Path) -> list[dict[str, str]]:
    with (out / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_a_5m_sma_cross_trades_the_same_on_the_minutes_on_binances_5m_bars_and_live(tmp_path: Path) -> None:
    built, exchanges, live = tmp_path / "built", tmp_path / "exchange", tmp_path / "live"
    assert main(["replay", *map(str, MINUTES), *REPLAY, "--out", str(built)]) == 0
    assert main(["replay", str(EXCHANGE_5M), *REPLAY, "--out", str(exchanges)]) == 0

    # stds run: the minutes streamed from a local Binance that drops, stalls, garbles, repeats and reorders
    config = StdsConfig(strategies={"sma_cross": StrategyLine(use="sma_cross", timeframe="5m")})
    exchange = LocalBinance(
        Tape.of(bar for path in MINUTES for bar in _bars(path)), speed=8000, faults=FaultPlan.chaos(0.004, seed=5)
    )
    stream = StreamerSettings(symbols=("BTC/USDT",), start_ms=exchange.tape.first_open_ms, connection=FAST)
    options = LiveOptions(
        config=config, config_dir=tmp_path, stream=stream, out=live, record=live / "events.jsonl",
        print_trades=False, duration_s=240,
    )  # fmt: skip
    asyncio.run(run_live(options, exchange))
    assert sum(exchange.stats[fault.value] for fault in Fault if fault is not Fault.NONE) > 0, exchange.stats

    made = trades(built)
    assert len(made) == 16 and {row["symbol"] for row in made} == {"BTC/USDT"}
    assert trades(live) == made
    assert [row for row in trades(exchanges) if row["time"] < END_OF_DAYS] == made
    assert all(row["time"].endswith(("0:00Z", "5:00Z")) for row in made)  # at 5m bars' open times
    recorded = [decode(line).detail for line in (live / "events.jsonl").read_bytes().splitlines()]
    fives = [event for event in recorded if getattr(event, "timeframe", None) == "5m"]
    assert len(fives) == 2 * 288  # every 5m bar of the two days, once, in the recording
    summary = json.loads((built / "summary.json").read_text())
    assert summary["timeframe"] == "1m" and summary["warnings"] == []  # the equity is marked every minute
    assert json.loads((exchanges / "summary.json").read_text())["timeframe"] == "5m"


def _bars(path: Path) -> list[BarClosed]:
    return list(open_sources([path], DeadLetterList(), exchange="binance"))


def test_a_recording_of_a_5m_run_holds_its_5m_bars_and_replays_exactly(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert main(["replay", str(MINUTES[0]), *REPLAY, "--out", str(tmp_path / "a"), "--record", str(first)]) == 0
    assert main(["replay", str(first), *REPLAY, "--out", str(tmp_path / "b"), "--record", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    events = [decode(line).detail for line in first.read_bytes().splitlines()]
    timeframes = [event.timeframe for event in events if isinstance(event, BarClosed)]
    assert (timeframes.count("1m"), timeframes.count("5m")) == (1440, 288)
    assert trades(tmp_path / "a") == trades(tmp_path / "b") != []


def test_a_strategy_no_bar_reaches_is_named_at_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 5m file replayed for a strategy on 1m bars: 0 trades, and the run says why instead of staying silent."""
    out = tmp_path / "out"
    assert main(["replay", str(EXCHANGE_5M), "--strategy", "sma_cross", "--out", str(out), "--no-progress"]) == 0
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("strategy sma_cross received no bar")
    assert '"timeframe":["1m"]' in warnings[0] and "BTC/USDT (5m)" in warnings[0]
    assert f"stds: warning: {warnings[0]}" in capsys.readouterr().err


def test_a_csv_whose_name_does_not_say_its_timeframe_is_read_at_the_step_between_its_rows(tmp_path: Path) -> None:
    """ccxt OHLCV rows 5 minutes apart are 5m bars (not 1m bars with gaps): a 5m strategy trades on them."""
    rows = json.loads(EXCHANGE_5M.read_text())[:400]
    path = tmp_path / "BTCUSDT.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    out = tmp_path / "out"
    assert main(["replay", str(path), *REPLAY, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["bars"], summary["gaps"], summary["timeframe"]) == (400, 0, "5m")
    assert summary["trades"] > 0


def test_stds_stream_publishes_each_5m_bar_once_with_the_minute_that_closes_it_and_archives_it(
    tmp_path: Path, moto_endpoint: str
) -> None:
    """The Fargate streamer with `--timeframes 5m`, from a faulty local Binance to moto's EventBridge and S3: a 5m
    strategy's rule receives exactly the 5m bars the aggregator makes of the minutes, each once, and the bar
    bucket holds them for a cold strategy function."""
    minutes = _bars(MINUTES[0])[:240]
    exchange = LocalBinance(Tape.of(minutes), speed=6000, faults=FaultPlan.chaos(0.004, seed=5))
    name = f"tf-{uuid.uuid4().hex[:8]}"
    client("events", moto_endpoint).create_event_bus(Name=name)
    client("s3", moto_endpoint).create_bucket(Bucket=name)
    rule = batch_pattern({"detail-type": ["BarClosed"], "detail": {"timeframe": ["5m"]}})
    queue = queue_behind_rule(moto_endpoint, name, "five", rule)

    async def go() -> dict[str, object]:
        async with exchange.running() as (ws_url, rest_url):
            stream = StreamerSettings(
                symbols=("BTC/USDT",), ws_url=ws_url, rest_url=rest_url, start_ms=exchange.tape.first_open_ms,
                heartbeat_s=1, connection=FAST,
            )  # fmt: skip
            options = StreamOptions(
                stream=stream, event_bus=name, cursors=tmp_path / "cursors.json", dead_letters=tmp_path / "dead.jsonl",
                stop_timeout_s=300, bucket=name, higher_timeframes=("5m",),
            )  # fmt: skip
            bus = EventBridgeBus(client("events", moto_endpoint), name)
            return await run_stream(options, bus, until_published=len(minutes), s3=client("s3", moto_endpoint))

    summary = asyncio.run(go())
    assert summary["all_delivered"]
    expected = [_values(bar) for bar in _fives(minutes)]
    received = bars_in(envelopes_in(moto_endpoint, queue))
    assert len(expected) == 48 and sorted(map(_values, received)) == expected
    archived = [bar for bar in archived_bars(moto_endpoint, name) if bar.timeframe == "5m"]
    assert sorted(map(_values, archived)) == expected


def _fives(minutes: list[BarClosed]) -> list[BarClosed]:
    aggregator = BarAggregator(["5m"])
    return [made for bar in minutes for made in aggregator.add(bar) if made.timeframe == "5m"]


def _values(bar: BarClosed) -> tuple[object, ...]:
    """What the minutes' files hold: minutes caught up over REST say `backfilled`, and the local Binance's
    websocket sends 0 for the quote volume and trade count those files lack (its REST klines, nothing)."""
    return (
        bar.symbol,
        bar.timeframe,
        bar.open_time_ms,
        bar.close_time_ms,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
    )
