"""`stds run`: the live pipeline on the embedded default — streamer → local bus → strategies → paper or ccxt
broker → SQLite."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consumers.reconciliation.reconciler import Reconciler, describe
from consumers.stores.ports import Stores
from consumers.stores.sqlite import read_closes
from events.dead_letters import DeadLetterFile
from events.envelope import Envelope, wrap
from events.models import Event, OrderFilled
from infra.config import BrokerConfig, StdsConfig
from infra.local.run_parts import RunOutput, StateFile, Trading
from infra.local.runtime import LocalRuntime
from infra.local.session import LocalSession
from infra.local.stores import run_stores
from infra.local.stream_health import StreamHealthTable
from infra.report.trades import fee_paid, iso_utc
from producers.exchanges.registry import adapter_for
from producers.streamer.cursors import CursorFile
from producers.streamer.runner import ExchangeStream, stream_until_stopped
from producers.streamer.seeding import seed_forming_bars
from producers.streamer.supervisor import Streamer, StreamerSettings

if TYPE_CHECKING:  # ccxt is imported only when a run trades through it; the local Binance is a tool, never shipped
    from consumers.execution.ccxt_broker import CcxtBroker, Credentials
    from tools.local_exchange.server import LocalBinance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveOptions:
    """What `stds run` was asked for; `run_live` turns it into the parts below before anything runs."""

    config: StdsConfig
    config_dir: Path
    stream: StreamerSettings  # symbols, endpoints (None: the exchange's), start, heartbeat, connection
    out: Path
    exchange: str = "binance"
    db: Path | None = None  # default OUT/state.sqlite; live state always resumes
    fresh: bool = False  # unless this discards it (explicitly: it holds positions)
    record: Path | None = None
    duration_s: float | None = None
    print_trades: bool = True
    credentials: Credentials | None = None  # with a ccxt broker: else from [broker] key_file or the environment


async def run_live(options: LiveOptions, local_exchange: LocalBinance | None = None) -> dict[str, Any]:
    """Stream until SIGTERM/SIGINT or `duration_s`, then write the report. With a `local_exchange`, run it
    in this process, point the streamer (and a ccxt broker) at it, and also stop once its recorded bars are
    all published. With a ccxt broker, reconcile with the exchange at start, every few minutes, and at stop."""
    stream = ExchangeStream(options.exchange, options.stream, options.duration_s)
    trading = Trading.load(options.config, options.config_dir)
    state_file = StateFile.of(options.db, options.out, resume=True, fresh=options.fresh)
    output = RunOutput(options.out, options.record, chart=True)
    return await _run_live(
        stream,
        trading,
        state_file,
        output,
        credentials=options.credentials,
        print_fills=options.print_trades,
        local_exchange=local_exchange,
    )


async def _run_live(
    stream: ExchangeStream,
    trading: Trading,
    state_file: StateFile,
    output: RunOutput,
    *,
    credentials: Credentials | None,
    print_fills: bool,
    local_exchange: LocalBinance | None,
) -> dict[str, Any]:
    with contextlib.ExitStack() as closing:
        stores = run_stores(state_file, trading)
        closing.callback(stores.close)
        output.folder.mkdir(parents=True, exist_ok=True)  # once the state is taken: a refusal leaves no folder
        # a restarted run's book is marked over the bars before it too
        earlier_closes = read_closes(state_file.path, "1m")
        health = StreamHealthTable(state_file.path)
        closing.callback(health.close)
        dead_letters = DeadLetterFile(output.dead_letters)
        closing.callback(dead_letters.close)
        started = time.perf_counter()
        threaded = trading.config.broker.kind == "ccxt"
        async with _endpoints(stream.settings, local_exchange, threaded=threaded) as (ws_url, rest_url):
            broker = _trading_broker(trading.config.broker, credentials, local_exchange, rest_url)
            session = LocalSession.start(
                closing, trading, stores, dead_letters, output, broker=broker, earlier_closes=earlier_closes
            )
            runtime = session.runtime
            if print_fills:
                runtime.bus.subscribe("print-fills", {"detail-type": ["OrderFilled"]}, _print_fill)
            reconciling = _Reconciling.of(trading.config, stream, stores, runtime, broker)
            streamer = Streamer(
                adapter=adapter_for(stream.exchange),
                settings=replace(stream.settings, ws_url=ws_url, rest_url=rest_url),
                sink=runtime.publish_bar,
                cursors=CursorFile(output.cursors),
                dead_letters=dead_letters,
            )
            if runtime.higher_bars is not None:
                await seed_forming_bars(streamer, runtime.higher_bars)
            until = None
            if local_exchange is not None:
                wanted = local_exchange.tape.count(stream.settings.symbols)
                until = lambda published: published >= wanted  # noqa: E731
            reconciling.now()

            def on_tick() -> None:
                reconciling.tick()
                health.save(streamer.health())

            await stream_until_stopped(streamer, on_tick, stream.duration_s, until)
            reconciling.now()
            health.save(streamer.health(), force=True)
        summary = session.report(elapsed_s=time.perf_counter() - started, gaps=0)
    summary["streamer"] = {
        "published": streamer.published,
        "backfilled": streamer.backfilled,
        "malformed": streamer.malformed,
    }
    return summary


@contextlib.asynccontextmanager
async def _endpoints(
    stream: StreamerSettings, local_exchange: LocalBinance | None, *, threaded: bool
) -> AsyncIterator[tuple[str | None, str | None]]:
    """The websocket and REST bases to stream from: the settings', or a local exchange's, served in a thread
    when the broker is `threaded` (the ccxt broker is synchronous: called from this loop, it would wait
    forever on a server in this loop)."""
    if local_exchange is None:
        yield stream.ws_url, stream.rest_url
        return
    if threaded:
        with local_exchange.serving_in_thread() as (ws_url, rest_url):
            log.info("local exchange running in a thread", extra={"ws_url": ws_url, "rest_url": rest_url})
            yield ws_url, rest_url
        return
    async with local_exchange.running() as (ws_url, rest_url):
        log.info("local exchange running", extra={"ws_url": ws_url, "rest_url": rest_url})
        yield ws_url, rest_url


def _trading_broker(
    settings: BrokerConfig, credentials: Credentials | None, local_exchange: LocalBinance | None, rest_url: str | None
) -> CcxtBroker | None:
    """None (the paper broker) unless `[broker] kind = "ccxt"`; a local exchange lends its own account's keys."""
    if settings.kind != "ccxt":
        return None
    from consumers.execution.ccxt_broker import Credentials
    from infra.local.exchange_keys import load_credentials
    from infra.local.trading import ccxt_broker

    if local_exchange is not None:
        account = local_exchange.orders.account
        return ccxt_broker(settings, Credentials(account.api_key, account.secret), rest_url)
    return ccxt_broker(settings, credentials or load_credentials(settings.key_file), None)


@dataclass
class _Reconciling:
    """Runs reconciliation when due (with a ccxt broker) and commits state on every tick of the streamer."""

    stores: Stores
    runtime: LocalRuntime
    reconciler: Reconciler | None
    every_s: float
    due: float = 0.0

    @classmethod
    def of(
        cls,
        config: StdsConfig,
        stream: ExchangeStream,
        stores: Stores,
        runtime: LocalRuntime,
        broker: CcxtBroker | None,
    ) -> _Reconciling:
        if broker is None:
            return cls(stores, runtime, None, 0.0)
        settings = config.broker.reconcile
        keys = config.sub_accounts(stream.exchange, stream.settings.symbols)
        return cls(stores, runtime, Reconciler.of(stores, broker, settings, keys), settings.every_min * 60)

    def tick(self) -> None:
        self.stores.commit()
        if self.reconciler is not None and time.monotonic() >= self.due:
            self.now()

    def now(self) -> None:
        if self.reconciler is None:
            return
        self.stores.commit()
        result = self.reconciler.run(int(time.time() * 1000))
        self.due = time.monotonic() + self.every_s
        if result.settled:  # fills the book had missed: onto the bus, so reports and prints see them
            self.runtime.bus.publish([wrap(event) for event in result.settled])
        self.stores.commit()
        if not result.agrees:
            for line in describe(result.document()):
                log.warning(line)
            print(f"stds: reconciliation: {'; '.join(result.problems) or result.unreachable}", file=sys.stderr)


def _print_fill(envelope: Envelope) -> list[Event]:
    fill = envelope.detail
    assert isinstance(fill, OrderFilled)
    fee, fee_asset = fee_paid(fill)
    print(
        f"{iso_utc(fill.bar_open_time_ms)}  {fill.strategy:<16} {fill.side:<4} {fill.qty} {fill.symbol} "
        f"@ {fill.price}  fee {fee} {fee_asset}  {fill.order_id}",
        flush=True,
    )
    return []
