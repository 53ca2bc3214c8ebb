"""One websocket connection kept alive for months: reconnects with backoff, notices silence, rotates early."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from producers.exchanges.adapter import CandleStream, Subscription

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, str | bytes], Awaitable[None]]
ConnectedHandler = Callable[[Sequence[Subscription]], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ConnectionSettings:
    silence_s: float = 60.0  # no message for this long: the connection is dead, reconnect
    keepalive_s: float = 20.0  # for exchanges that want application pings when quiet
    rotate_after_s: float = 23.5 * 3600  # Binance cuts connections at 24 h; hand over before that
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    open_timeout_s: float = 10.0


def backoff_delay(attempt: int, settings: ConnectionSettings, rng: random.Random) -> float:
    """Exponential with jitter, never below half the step, so failing forever never busy-loops."""
    step = min(settings.backoff_cap_s, settings.backoff_base_s * 2.0 ** min(attempt, 16))
    return step * rng.uniform(0.5, 1.0)


class StreamConnection:
    """Keeps one set of subscriptions streaming until `stopping` is set."""

    def __init__(
        self,
        *,
        name: str,
        adapter: CandleStream,
        ws_base: str,
        subscriptions: Sequence[Subscription],
        on_message: MessageHandler,
        on_connected: ConnectedHandler,
        settings: ConnectionSettings,
        stopping: asyncio.Event,
    ) -> None:
        self.name = name
        self.adapter = adapter
        self.url = adapter.connection_url(ws_base)
        self.subscriptions = list(subscriptions)
        self.on_message = on_message
        self.on_connected = on_connected
        self.settings = settings
        self.stopping = stopping
        self.reconnects = 0
        self._rng = random.Random()
        self._catch_ups: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._socket: ClientConnection

    async def run(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            try:
                socket = await self._open()
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
                delay = backoff_delay(attempt, self.settings, self._rng)
                log.warning(
                    "connect failed, retrying",
                    extra={"connection": self.name, "error": repr(error), "retry_in_s": round(delay, 3)},
                )
                attempt += 1
                await self._sleep(delay)
                continue
            attempt = 0
            self._socket = socket
            try:
                await self._stream()
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
                log.warning("connection lost, reconnecting", extra={"connection": self.name, "error": repr(error)})
            finally:
                await self._socket.close()
            if not self.stopping.is_set():
                self.reconnects += 1
                await self._sleep(backoff_delay(0, self.settings, self._rng))
        for task in self._catch_ups:
            task.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def _open(self, *, catch_up: bool = True) -> ClientConnection:
        socket = await connect(
            self.url, open_timeout=self.settings.open_timeout_s, ping_interval=20, ping_timeout=20, close_timeout=2
        )
        pause = 1.0 / self.adapter.subscribe_messages_per_second
        for message in self.adapter.subscribe_messages(self.subscriptions, first_id=1):
            await socket.send(message)
            await asyncio.sleep(pause)  # the exchange limits messages sent to it
        if not catch_up:
            return socket
        # catch up what was missed while away, concurrently with reading, serialised per stream by the gate
        task = asyncio.create_task(self.on_connected(self.subscriptions))
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)
        return socket

    async def _stream(self) -> None:
        rotate_at = time.monotonic() + self.settings.rotate_after_s
        last_message = time.monotonic()
        while not self.stopping.is_set():
            socket = self._socket
            now = time.monotonic()
            if now >= rotate_at:
                self._socket = await self._hand_over(socket)
                rotate_at = time.monotonic() + self.settings.rotate_after_s
                continue
            wait = min(rotate_at - now, self._quiet_wait(now - last_message))
            stop_waiter = asyncio.ensure_future(self.stopping.wait())
            receive = asyncio.ensure_future(socket.recv())
            done, _ = await asyncio.wait({receive, stop_waiter}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            stop_waiter.cancel()
            if receive in done:
                last_message = time.monotonic()
                await self.on_message(self.name, receive.result())
                continue
            receive.cancel()
            if self.stopping.is_set():
                return
            quiet = time.monotonic() - last_message
            if quiet >= self.settings.silence_s:
                raise TimeoutError(f"no message for {quiet:.1f}s")
            if self.adapter.keepalive_message is not None and quiet >= self.settings.keepalive_s:
                await socket.send(self.adapter.keepalive_message)

    def _quiet_wait(self, quiet: float) -> float:
        until_silence = self.settings.silence_s - quiet
        if self.adapter.keepalive_message is None:
            return max(until_silence, 0.001)
        return max(min(until_silence, self.settings.keepalive_s - quiet % self.settings.keepalive_s), 0.001)

    async def _hand_over(self, old: ClientConnection) -> ClientConnection:
        """Open the successor first and keep reading the old one until the new one speaks: no gap."""
        log.info("rotating connection", extra={"connection": self.name})
        new = await self._open(catch_up=False)  # the old connection streams until the new one speaks
        first = asyncio.ensure_future(new.recv())
        try:
            while not first.done():
                from_old = asyncio.ensure_future(old.recv())
                done, _ = await asyncio.wait(
                    {first, from_old}, timeout=self.settings.silence_s, return_when=asyncio.FIRST_COMPLETED
                )
                if from_old in done:
                    await self.on_message(self.name, from_old.result())
                else:
                    from_old.cancel()
                if not done:
                    raise TimeoutError("the successor connection stayed silent")
            await self._read_up_to(old, first.result())
            await self.on_message(self.name, first.result())
        except BaseException:
            first.cancel()
            await new.close()
            raise
        # closing waits for the exchange's close frame, queued behind messages nobody reads any more:
        # let that finish in the background instead of stalling the new connection for close_timeout
        closing = asyncio.create_task(old.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        return new

    async def _read_up_to(self, old: ClientConnection, first_new: str | bytes) -> None:
        """Both connections carry the same events: read the old one until it delivers the new one's first
        message (from there on the new one has everything), or until it falls quiet or closes."""
        with contextlib.suppress(TimeoutError, websockets.exceptions.ConnectionClosed):
            deadline = time.monotonic() + self.settings.silence_s
            while time.monotonic() < deadline:
                message = await asyncio.wait_for(old.recv(), timeout=0.05)
                if message == first_new:
                    return
                await self.on_message(self.name, message)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
