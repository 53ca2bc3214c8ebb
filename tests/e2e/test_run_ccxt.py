"""`stds run --broker ccxt` end to end: recorded bars streamed from the local Binance, real signed orders to its
order API through the ccxt broker, faults on the wire, reconciliation at start and stop."""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from consumers.reconciliation.comparison import book_holdings
from consumers.stores.sqlite import SqliteState
from infra.cli import main
from infra.config import BrokerConfig, StdsConfig, StrategyLine
from infra.local.live import LiveOptions, run_live
from producers.streamer.connection import ConnectionSettings
from producers.streamer.supervisor import StreamerSettings
from tests.conftest import spot_day_bars
from tools.local_exchange.orders import RequestFault, SpotAccount
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

API_KEY = "e2e-key-never-written-anywhere"
SECRET = "e2e-secret-never-written-anywhere"
BARS = spot_day_bars(limit=480)


def faulty_exchange() -> LocalBinance:
    exchange = LocalBinance(Tape.of(BARS), speed=12_000, account=SpotAccount(API_KEY, SECRET))
    orders = exchange.orders
    orders.fail_next_after_execute = 4  # the first four orders execute and their answers are dropped
    script = [None, None, RequestFault.THROTTLE, None, RequestFault.UNAVAILABLE, None, None, RequestFault.DROP]
    orders.request_faults.extend(script * 15)  # then 429, 503 and dropped requests all along
    return exchange


def test_a_ccxt_session_places_each_order_once_and_ends_with_the_exchanges_balances_in_the_book(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = faulty_exchange()
    config = StdsConfig(
        strategies={"sma": StrategyLine(use="sma_cross", params={"fast": 5, "slow": 20, "qty": "0.01"})},
        broker=BrokerConfig(kind="ccxt"),
    )
    out = tmp_path / "live"
    stream = StreamerSettings(
        symbols=("BTC/USDT",), start_ms=BARS[0].open_time_ms, heartbeat_s=2, connection=ConnectionSettings(silence_s=2)
    )
    options = LiveOptions(
        config=config, config_dir=tmp_path, stream=stream, out=out, record=out / "events.jsonl", print_trades=True,
        duration_s=240,
    )  # fmt: skip
    summary = asyncio.run(run_live(options, exchange))

    orders = exchange.orders
    assert orders.fail_next_after_execute == 0 and len(orders.request_faults) < 60  # the faults did happen
    assert summary["trades"] >= 20 and summary["bars"] == len(BARS)
    assert set(orders.placed.values()) == {1}  # the exchange's own count: no client order id traded twice
    state = SqliteState(out / "state.sqlite", Decimal(100_000), lock=False)
    filled = [
        r for r in state.book.orders() if r.settlement is not None and r.settlement.event_id.startswith("order-f")
    ]
    assert len(filled) == summary["trades"] == len([o for o in orders.orders if o.fills])
    base_assets = {"BTC/USDT": ("BTC", "USDT")}
    held = book_holdings(state.book.accounts(), base_assets.__getitem__)
    assert held == {asset: orders.account.balances[asset] for asset in held}  # exactly, to the last digit
    last = state.reconciliations.last()
    assert last is not None and orjson.loads(last)["problems"] == [] and state.kill_switch.engaged() is None
    state.close()
    with (out / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    exported: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # the exchange's own fills, by order and asset
    for order in orders.orders:
        for part in order.fills:
            exported[(order.client_order_id, part.commission_asset)] += part.commission
    booked = {(row["order_id"], row["fee_asset"]): Decimal(row["fee"]) for row in rows}
    assert booked == {key: fee for key, fee in exported.items() if fee}  # fill by fill, in the asset paid
    assert any(row["fee_asset"] == "BTC" and Decimal(row["fee"]) > 0 for row in rows)  # buys pay in BTC
    printed = [line for line in capsys.readouterr().out.splitlines() if " buy " in line]
    paid = [line.split(" fee ")[1].split()[:2] for line in printed]
    assert paid and all(asset == "BTC" and Decimal(fee) > 0 for fee, asset in paid)  # as the exchange took it
    assert sum(Decimal(row["fee_quote"]) for row in rows) == Decimal(summary["fees"])
    by_asset: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_asset[row["fee_asset"]] += Decimal(row["fee"])
    assert {asset: str(fee) for asset, fee in by_asset.items()} == summary["fees_by_asset"]
    written = b"".join(path.read_bytes() for path in out.iterdir() if path.is_file()) + caplog.text.encode()
    assert API_KEY.encode() not in written and SECRET.encode() not in written


@pytest.fixture
def served() -> Iterator[tuple[LocalBinance, str]]:
    exchange = LocalBinance(Tape.of(BARS[:60]), speed=60, account=SpotAccount(API_KEY, SECRET))
    exchange.orders.prices["BTCUSDT"] = Decimal(20_000)
    with exchange.serving_in_thread() as (_, rest_url):
        yield exchange, rest_url


def test_stds_reconcile_prints_the_comparison_and_stds_holdings_shows_the_halt(
    served: tuple[LocalBinance, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exchange, rest_url = served
    monkeypatch.setenv("STDS_EXCHANGE_API_KEY", API_KEY)
    monkeypatch.setenv("STDS_EXCHANGE_SECRET", SECRET)
    config = tmp_path / "strategies.toml"
    config.write_text(
        '[strategies]\nsma = { use = "sma_cross", symbols = ["BTC/USDT"] }\n'
        '[paper]\nstarting_cash = "100000"\n[broker]\nkind = "ccxt"\n'
    )
    db = tmp_path / "state.sqlite"
    SqliteState(db, Decimal(100_000)).close()
    command = ["reconcile", "--db", str(db), "--config", str(config), "--broker", "ccxt", "--exchange-url", rest_url]
    assert main(command) == 0
    assert "reconciliation at " in capsys.readouterr().out
    exchange.orders.account.balances["BTC"] = Decimal("0.5")  # someone bought by hand
    assert main(command) == 1
    printed = capsys.readouterr().out
    assert "HALTED: BTC: exchange 0.5 vs book 0 + baseline 0 (difference +0.5)" in printed
    assert main(["holdings", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("kill switch: ENGAGED, halt (reconciliation: BTC: exchange 0.5 vs book 0")
    assert "  BTC " in shown and "differs" in shown
