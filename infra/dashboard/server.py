"""The dashboard's web server (aiohttp): the page and its vendored chart library, JSON for the charts, a
server-sent-events stream of snapshots, and halt/resume behind the token."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import logging
import math
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import orjson
from aiohttp import web

from consumers.stores.kill_switch_modes import KILL_SWITCH_MODES, KillSwitchMode
from consumers.stores.ports import KillSwitchState
from events.streams import StreamKey
from infra.dashboard.access import FailedTokens, token_matches
from infra.dashboard.deltas import Versions
from infra.dashboard.series_view import equity_series, full_range, symbol_series
from infra.dashboard.snapshot import snapshot, switch_view
from infra.dashboard.source import StateReader
from infra.halt_reason import InvalidHaltReason, halt_reason

log = logging.getLogger(__name__)

STATIC_FILES = {  # name → content type; nothing else is served, so no path from a request reaches the disk
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
    "uPlot.LICENSE": "text/plain",
}
DEFAULT_POINTS = 1_000
MAX_POINTS = 5_000
KEEPALIVE_S = 15.0
GZIP_FROM_BYTES = 1_000  # smaller answers gain nothing from it
T = TypeVar("T")


@dataclass
class DashboardSettings:
    token: str
    source: str  # shown on the page: the state file, or the table prefix
    poll_s: float = 0.5  # how often the store is asked whether anything changed


class Dashboard:
    """Reads through one worker thread (the SQLite connection and boto3 client are used by one thread at a
    time), computes each snapshot once and fans it out to every open page."""

    def __init__(
        self, reader: StateReader, settings: DashboardSettings, failed_tokens: FailedTokens | None = None
    ) -> None:
        self.reader = reader
        self.settings = settings
        self.failed_tokens = failed_tokens or FailedTokens()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-reader")
        self.versions = Versions()
        self._listeners: set[asyncio.Event] = set()  # one per open page: set when a new version is there
        self._wake = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._require_token])
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/api/equity", self._equity)
        app.router.add_get("/api/symbol", self._symbol)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/halt", self._halt)
        app.router.add_post("/api/resume", self._resume)
        app.cleanup_ctx.append(self._watching)
        return app

    async def read(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    # ---- access -------------------------------------------------------------------------------------------

    @web.middleware
    async def _require_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """The page and its scripts hold no data; every /api call needs the token. A POST must carry it in a
        header, which a form on another site cannot set; EventSource cannot set headers, so a GET may use ?token=."""
        if request.path.startswith("/api/"):
            refusal = self._refused(request)
            if refusal is not None:
                return refusal
        response: web.StreamResponse = await handler(request)
        return response

    def _refused(self, request: web.Request) -> web.Response | None:
        """401 for a missing or wrong token, 429 once an address has guessed too often (whatever it offers)."""
        address = request.remote or "unknown"
        wait_s = self.failed_tokens.retry_after_s(address)
        if wait_s is not None:
            error = {"error": f"too many wrong tokens from {address}: try again in {wait_s} s"}
            return web.json_response(error, status=429, headers={"Retry-After": str(wait_s)})
        offered = _bearer(request)
        if offered is None and request.method == "GET":
            offered = request.query.get("token")
        if token_matches(self.settings.token, offered):
            return None
        self.failed_tokens.failed(address)
        log.warning("dashboard request with a missing or wrong token", extra={"peer": address})
        return web.json_response({"error": "missing or wrong token"}, status=401)

    # ---- the page -----------------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        return _static_file("index.html", request)

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return _static_file(name, request)

    # ---- data ---------------------------------------------------------------------------------------------

    async def _snapshot(self, request: web.Request) -> web.Response:
        return _json(await self.read(self._current), request)

    async def _equity(self, request: web.Request) -> web.Response:
        def compute() -> dict[str, Any]:
            streams = self.reader.streams()
            start_ms, end_ms = _window(request, full_range(streams))
            accounts, fills = self.reader.accounts(), self.reader.fills()
            return equity_series(
                self.reader,
                accounts=accounts,
                all_fills=fills,
                streams=streams,
                start_ms=start_ms,
                end_ms=end_ms,
                points=_points(request),
            )

        return _json(_only_market(await self.read(compute), request.query.get("market")), request)

    async def _symbol(self, request: web.Request) -> web.Response:
        query = request.query
        stream = StreamKey(query.get("exchange", ""), query.get("symbol", ""), query.get("timeframe", "1m"))

        def compute() -> dict[str, Any]:
            streams = self.reader.streams()
            span = streams.get(stream)
            if span is None:
                raise web.HTTPNotFound(text=f"no bars for {'|'.join(stream)} in {self.settings.source}")
            start_ms, end_ms = _window(request, (span.first_open_time_ms, span.last_open_time_ms))
            fills = self.reader.fills()
            return symbol_series(self.reader, stream, fills, start_ms=start_ms, end_ms=end_ms, points=_points(request))

        return _json(await self.read(compute), request)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events, each with the version it brings the page to as its id: everything at once, then
        only what changed since the version the page holds (a reconnecting browser says which, as Last-Event-ID).
        Gzipped when the browser accepts it, one stream for the whole connection, flushed after every event."""
        gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            | ({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if gzip else {})
        )
        await response.prepare(request)
        send = _gzip_stream(response) if gzip else response.write
        since = _version(request.headers.get("Last-Event-ID"))
        news = asyncio.Event()
        self._listeners.add(news)
        try:
            if not self.versions.latest:
                self.versions.add(await self.read(self._current))
            while True:
                message = self.versions.message(since)
                if message is not None:
                    since = message["version"]
                    await send(b"id: %d\ndata: %s\n\n" % (since, orjson.dumps(message)))
                news.clear()
                try:
                    await asyncio.wait_for(news.wait(), KEEPALIVE_S)
                except TimeoutError:
                    await send(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._listeners.discard(news)
        return response

    async def _halt(self, request: web.Request) -> web.Response:
        body = await request.read() if request.can_read_body else b""
        reason = _halt_reason(body)  # first: it refuses a body that is not a JSON object
        state = KillSwitchState.new(_halt_mode(body), reason)
        await self.read(lambda: self.reader.kill_switch.engage(state))
        log.warning(
            "kill switch engaged from the dashboard",
            extra={"mode": state.mode, "reason": state.reason, "peer": request.remote},
        )
        self._wake.set()
        return _json({"kill_switch": switch_view(state)}, request)

    async def _resume(self, request: web.Request) -> web.Response:
        await self.read(self.reader.kill_switch.release)
        log.warning("kill switch released from the dashboard", extra={"peer": request.remote})
        self._wake.set()
        return _json({"kill_switch": switch_view(None)}, request)

    # ---- watching the store -------------------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        return snapshot(self.reader, self.settings.source)

    async def _watching(self, app: web.Application) -> AsyncIterator[None]:
        # Read every order once before serving: the first page then costs what a refresh costs.
        await self.read(self.reader.fills)
        task = asyncio.create_task(self._watch())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._worker.shutdown(wait=True)

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)
            forced = self._wake.is_set()
            self._wake.clear()
            if not self._listeners:
                continue  # nobody watching: the next page to open reads the state afresh
            try:
                if not (forced or await self.read(self.reader.changed)):
                    continue
                current = await self.read(self._current)
            except Exception:  # a store hiccup must not end the stream; the next poll tries again
                log.exception("dashboard could not read the state")
                continue
            if self.versions.add(current):
                for news in self._listeners:
                    news.set()


def _gzip_stream(response: web.StreamResponse) -> Callable[[bytes], Awaitable[None]]:
    """One gzip stream over the connection (later events compress against earlier ones), flushed per event."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)

    async def send(chunk: bytes) -> None:
        await response.write(compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH))

    return send


def _version(last_event_id: str | None) -> int | None:
    try:
        return int(last_event_id) if last_event_id else None
    except ValueError:
        return None  # not one of ours: send everything


def _only_market(equity: dict[str, Any], market: str | None) -> dict[str, Any]:
    """The page asks for the strategies' curves and the sub-accounts of the symbol it shows ("exchange|symbol"),
    not all 470 of them."""
    if market is None:
        return equity
    exchange, _, symbol = market.partition("|")
    wanted = {name for name in equity["accounts"] if name.endswith(f" {symbol}")}
    del exchange  # the series name a sub-account "strategy symbol"; one exchange per symbol on a page
    return {**equity, "accounts": {name: equity["accounts"][name] for name in wanted}}


def _halt_mode(body: bytes) -> KillSwitchMode:
    """The mode a halt request asks for (in the JSON object `_halt_reason` accepts): `halt` when it names none, one
    of the modes, else a 400 naming them."""
    document = orjson.loads(body) if body.strip() else {}
    offered = document.get("mode") or "halt" if isinstance(document, dict) else None
    if offered not in KILL_SWITCH_MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {', '.join(KILL_SWITCH_MODES)}, not {offered!r}")
    return offered


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _points(request: web.Request) -> int:
    try:
        return max(10, min(MAX_POINTS, int(request.query.get("points", DEFAULT_POINTS))))
    except ValueError:
        raise web.HTTPBadRequest(text="points must be a whole number") from None


def _halt_reason(body: bytes) -> str:
    """The reason of a halt request: no body, or a JSON object with an optional string `reason`; anything
    else is a 400 and halts nothing."""
    default = "halted from the dashboard"
    if not body.strip():
        return default
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text='a halt body is JSON: {"reason": "..."}') from None
    if not isinstance(document, dict) or not isinstance(document.get("reason"), str | None):
        raise web.HTTPBadRequest(text='a halt body is a JSON object with a string reason: {"reason": "..."}')
    try:
        return halt_reason(document.get("reason") or default)
    except InvalidHaltReason as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def _epoch_ms(request: web.Request, name: str, default_ms: int) -> int:
    """A time of the query, in seconds since the epoch as the charts send it, as ms."""
    if name not in request.query:
        return default_ms
    try:
        seconds = float(request.query[name])
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < 1e11:  # NaN and infinities fail this too
        raise web.HTTPBadRequest(text="from and to are times in seconds since the epoch")
    return int(seconds * 1000)


def _window(request: web.Request, span: tuple[int, int] | None) -> tuple[int, int]:
    """[from, to] in ms from the query (seconds, as the charts use), within what the store holds."""
    if span is None:
        raise web.HTTPNotFound(text="no bars in this state yet")
    start_ms, end_ms = _epoch_ms(request, "from", span[0]), _epoch_ms(request, "to", span[1])
    start_ms, end_ms = max(start_ms, span[0]), min(end_ms, span[1])
    return (start_ms, end_ms) if start_ms <= end_ms else span


def _json(value: Any, request: web.Request | None = None) -> web.Response:
    body = orjson.dumps(value)
    if request is not None and len(body) > GZIP_FROM_BYTES and "gzip" in request.headers.get("Accept-Encoding", ""):
        response = web.Response(body=gzip.compress(body, 6), content_type="application/json")
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        return response
    return web.Response(body=body, content_type="application/json")


@functools.cache
def _static_bodies(name: str) -> tuple[bytes, bytes]:
    """The file as shipped and gzipped, read and compressed once per process."""
    body = resources.files("infra.dashboard").joinpath("static", name).read_bytes()
    return body, gzip.compress(body, 9)


def _static_file(name: str, request: web.Request) -> web.Response:
    plain, compressed = _static_bodies(name)
    content_type = STATIC_FILES[name]
    charset = None if name.endswith("LICENSE") else "utf-8"
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=plain, content_type=content_type, charset=charset)
    response = web.Response(body=compressed, content_type=content_type, charset=charset)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
