"""The loopback Binance: `/stream` and `/ws/<stream>` websockets, `/api/v3/{klines,exchangeInfo,time,ping}` REST,
and signed spot trading (`/api/v3/{order,myTrades,account}`, see orders.py).

Messages and REST rows are shaped exactly as Binance sends them, so the real streamer code and the
real ccxt code run against it unchanged; only the base URLs differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from events.models import BarClosed
from events.timeframes import timeframe_ms
from tools.local_exchange.faults import Fault, FaultPicker, FaultPlan
from tools.local_exchange.orders import SpotAccount, SpotOrders
from tools.local_exchange.rest_limits import RestLimits
from tools.local_exchange.tape import MarketClock, Tape

log = logging.getLogger(__name__)

TICK_S = 0.002
MAX_KLINES = 1000


@dataclass(eq=False)
class _Client:
    """One websocket connection and what it asked for; a stalled client is sent nothing more."""

    socket: web.WebSocketResponse
    request: web.Request
    streams: set[str] = field(default_factory=set)
    stalled: bool = False
    held: str | None = None


class LocalBinance:
    def __init__(
        self,
        tape: Tape,
        speed: float,
        faults: FaultPlan | None = None,
        forming_updates: bool = True,
        account: SpotAccount | None = None,
        *,
        rest_limits: RestLimits | None = None,
        clock: MarketClock | None = None,
    ) -> None:
        self.tape = tape
        self.speed = speed
        self.faults: FaultPicker = (faults or FaultPlan()).picker()
        self.refuse_after_drop = (faults or FaultPlan()).refuse_after_drop
        self.forming_updates = forming_updates
        self.rest_limits = rest_limits or RestLimits()
        self._pinned_clock = clock  # e.g. a FixedClock: the market's time set by a test, not by the wall clock
        self.clock = clock or MarketClock(tape.first_open_ms, speed)
        self.clients: set[_Client] = set()
        self.refuse_connections = 0  # how many of the next connection attempts to refuse
        self.stats: dict[str, int] = {fault.value: 0 for fault in Fault} | {"connections": 0, "refused": 0}
        self._runner: web.AppRunner | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.markets = {market: _market_info(market, series[0]) for market, series in tape.bars.items()}
        # a lambda, not self.clock.now_ms: running() replaces the clock
        self.orders = SpotOrders(tape, lambda: self.clock.now_ms(), self.markets, account or SpotAccount())  # noqa: PLW0108

    @contextlib.asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[tuple[str, str]]:
        """Serve until the block ends; yields (websocket base URL, REST base URL)."""
        app = web.Application(middlewares=[self.rest_limits.middleware])
        app.router.add_get("/stream", self._websocket)
        app.router.add_get("/ws/{stream}", self._websocket)
        app.router.add_get("/api/v3/klines", self._klines)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/ping", self._ping)
        self.orders.add_routes(app.router)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.clock = self._pinned_clock or MarketClock(self.tape.first_open_ms, self.speed)
        self._publisher = asyncio.create_task(self._publish_forever())
        try:
            yield f"ws://{host}:{bound}", f"http://{host}:{bound}"
        finally:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            for client in list(self.clients):
                await client.socket.close()
            await self._runner.cleanup()

    @contextlib.contextmanager
    def serving_in_thread(self) -> Iterator[tuple[str, str]]:
        """`running()` on its own event loop in a thread, for synchronous clients (the ccxt broker) called
        from another loop or none; yields (websocket base URL, REST base URL)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop = asyncio.Event()
        urls: list[tuple[str, str]] = []

        async def serve() -> None:
            async with self.running() as endpoints:
                urls.append(endpoints)
                started.set()
                await stop.wait()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the local exchange did not start within 10 s")
        try:
            yield urls[0]
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(10)
            loop.close()

    # websocket side

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            self.stats["refused"] += 1
            return web.Response(status=503, text="refusing connections for a while (fault injection)")
        socket = web.WebSocketResponse(heartbeat=20.0)
        await socket.prepare(request)
        client = _Client(socket, request)
        if "stream" in request.match_info:
            client.streams.add(request.match_info["stream"].lower())
        client.streams.update(s.lower() for s in request.query.get("streams", "").split("/") if s)
        self.clients.add(client)
        self.stats["connections"] += 1
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await self._on_request(client, message.data)
        finally:
            self.clients.discard(client)
        return socket

    async def _on_request(self, client: _Client, text: str) -> None:
        try:
            request = orjson.loads(text)
            method, params, request_id = request["method"], request.get("params", []), request["id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await client.socket.send_str('{"code":2,"msg":"Invalid request"}')
            return
        if method == "SUBSCRIBE":
            client.streams.update(str(p).lower() for p in params)
        elif method == "UNSUBSCRIBE":
            client.streams.difference_update(str(p).lower() for p in params)
        await client.socket.send_str(orjson.dumps({"result": None, "id": request_id}).decode())

    async def _publish_forever(self) -> None:
        next_open = self.tape.first_open_ms
        interval = 60_000
        while True:
            now = self.clock.now_ms()
            while next_open + interval <= now and next_open <= self.tape.last_close_ms:
                await self._publish_minute(next_open)
                next_open += interval
            await asyncio.sleep(TICK_S)

    async def _publish_minute(self, open_time_ms: int) -> None:
        for market in self.tape.bars:
            found = self.tape.between(market, open_time_ms, open_time_ms, 1)
            if not found:
                continue
            bar = found[0]
            stream = f"{market.lower()}@kline_1m"
            if self.forming_updates:
                await self._broadcast(stream, kline_message(stream, market, bar, closed=False))
            await self._broadcast(stream, kline_message(stream, market, bar, closed=True))

    async def _broadcast(self, stream: str, message: str) -> None:
        for client in list(self.clients):
            if stream in client.streams and not client.stalled:
                await self._send(client, message)

    async def _send(self, client: _Client, message: str) -> None:
        fault = self.faults.next()
        self.stats[fault.value] += 1
        try:
            if fault is Fault.DROP:
                self.refuse_connections = self.refuse_after_drop
                self.clients.discard(client)
                transport = client.request.transport
                if transport is not None:
                    transport.close()  # no close frame: the way a network drop looks
                return
            if fault is Fault.STALL:
                client.stalled = True
                return
            if fault is Fault.REORDER and client.held is None:
                client.held = message
                return
            outgoing = {
                Fault.MALFORMED: ['{"stream": oops not json'],
                Fault.TRUNCATED: [message[: len(message) // 2]],
                Fault.REPEAT: [message, message],
            }.get(fault, [message])
            for text in outgoing:
                await client.socket.send_str(text)
            if client.held is not None:
                held, client.held = client.held, None
                await client.socket.send_str(held)
        except (ConnectionResetError, RuntimeError):
            self.clients.discard(client)

    # REST side

    async def _klines(self, request: web.Request) -> web.Response:
        query = request.query
        market = query.get("symbol", "").upper()
        if market not in self.tape.bars:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        interval = query.get("interval", "")
        if interval != "1m":
            return web.json_response({"code": -1120, "msg": "Invalid interval."}, status=400)
        now = self.clock.now_ms()
        limit = min(int(query.get("limit", 500)), MAX_KLINES)
        start = int(query.get("startTime", 0))
        end = min(int(query.get("endTime", now)), now)
        if "startTime" not in query:
            start = max(0, end - limit * timeframe_ms(interval))
        rows = [
            _kline_row(bar, forming=bar.close_time_ms >= now) for bar in self.tape.between(market, start, end, limit)
        ]
        return web.Response(body=orjson.dumps(rows), content_type="application/json")

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = list(self.markets.values())
        document = {
            "timezone": "UTC",
            "serverTime": self.clock.now_ms(),
            "rateLimits": self._rate_limits(),
            "symbols": symbols,
        }
        return web.Response(body=orjson.dumps(document), content_type="application/json")

    def _rate_limits(self) -> list[dict[str, Any]]:
        limit = self.rest_limits.limit_1m
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": limit}]

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.clock.now_ms()})

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})


def kline_message(stream: str, market: str, bar: BarClosed, closed: bool) -> str:
    # a forming update shows the candle half-built: Binance streams those every couple of seconds
    close = bar.close if closed else bar.open
    high, low = (bar.high, bar.low) if closed else (max(bar.open, close), min(bar.open, close))
    kline: dict[str, Any] = {
        "t": bar.open_time_ms,
        "T": bar.close_time_ms,
        "s": market,
        "i": bar.timeframe,
        "f": 0,
        "L": 0,
        "o": str(bar.open),
        "c": str(close),
        "h": str(high),
        "l": str(low),
        "v": str(bar.volume if closed else Decimal(0)),
        "n": bar.trades or 0,
        "x": closed,
        "q": str(bar.quote_volume or 0),
        "V": "0",
        "Q": "0",
        "B": "0",
    }
    event = {"e": "kline", "E": bar.close_time_ms + 1 if closed else bar.open_time_ms + 1, "s": market, "k": kline}
    return orjson.dumps({"stream": stream, "data": event}).decode()


def _kline_row(bar: BarClosed, forming: bool) -> list[Any]:
    close = bar.open if forming else bar.close  # the forming candle is not final yet
    # Binance's columns: open time, OHLC, volume, close time, quote volume, trades, taker buy base and quote, unused
    return [
        bar.open_time_ms,
        str(bar.open),
        str(bar.high),
        str(bar.low),
        str(close),
        str(bar.volume),
        bar.close_time_ms,
        str(bar.quote_volume or 0),
        bar.trades or 0,
        "0",
        "0",
        "0",
    ]


def _market_info(market: str, bar: BarClosed) -> dict[str, Any]:
    base, quote = bar.symbol.split("/")
    return {
        "symbol": market,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "baseAssetPrecision": 8,
        "quoteAssetPrecision": 8,
        "quotePrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "permissions": ["SPOT"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1000000", "tickSize": "0.00000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000000", "stepSize": "0.00001"},
            {"filterType": "NOTIONAL", "minNotional": "5", "maxNotional": "9000000", "applyToMarketOrder": True},
        ],
    }
