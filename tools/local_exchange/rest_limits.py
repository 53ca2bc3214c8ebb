"""Binance's REST rate limiting on the local exchange, and faults on its REST answers.

Every answer carries the weight used this minute (`X-MBX-USED-WEIGHT-1M`); past the limit a request gets 429
with `Retry-After` (the seconds to the next minute), and a client that keeps asking while limited gets 418, a ban
with its own `Retry-After`. Faults, drawn by a seeded generator so a failing run repeats: 500/503 answers, 429s,
and connections closed without an answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

# Binance spot's weights of the endpoints the local exchange serves (klines with limit 1000: 2)
WEIGHTS = {"/api/v3/klines": 2, "/api/v3/exchangeInfo": 20}
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
BAN_S = 120  # Binance's first ban lasts 2 minutes


@dataclass(frozen=True)
class RestFaultPlan:
    """Probability of each fault per REST request."""

    server_error: float = 0.0  # 500 or 503
    too_many_requests: float = 0.0  # 429 with Retry-After: 1
    drop: float = 0.0  # the connection closed with no answer
    seed: int = 0


@dataclass
class RestLimits:
    """The weight budget per minute of the (one) client IP, on `clock` (seconds, injectable for tests)."""

    limit_1m: int = 6000
    faults: RestFaultPlan = field(default_factory=RestFaultPlan)
    ban_after_429s: int = 3  # requests refused with 429 in one minute before the ban
    clock: Callable[[], float] = time.time
    requests: dict[str, int] = field(default_factory=dict)  # path → requests answered (faults included)
    answered: dict[int, int] = field(default_factory=dict)  # status → count
    _minute: int = -1
    _used: int = 0
    _refused: int = 0
    _banned_until: float = 0.0
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.faults.seed)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/api/"):  # the websockets have limits of their own, not modelled here
            return await handler(request)
        self.requests[path] = self.requests.get(path, 0) + 1
        response = self._refusal(path) or self._fault(request) or await handler(request)
        response.headers[WEIGHT_HEADER] = str(self._used)
        self.answered[response.status] = self.answered.get(response.status, 0) + 1
        return response

    def _refusal(self, path: str) -> web.Response | None:
        now = self.clock()
        if now < self._banned_until:
            return _error(418, -1003, "Way too much request weight used; IP banned.", self._banned_until - now)
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._used, self._refused = minute, 0, 0
        self._used += WEIGHTS.get(path, 1)
        if self._used <= self.limit_1m:
            return None
        self._refused += 1
        if self._refused > self.ban_after_429s:
            self._banned_until = now + BAN_S
            return _error(418, -1003, "Way too much request weight used; IP banned.", BAN_S)
        return _error(429, -1003, "Too much request weight used; please use WebSocket Streams.", 60 - now % 60)

    def _fault(self, request: web.Request) -> web.Response | None:
        draw = self._random.random()
        plan = self.faults
        if draw < plan.server_error:
            return web.Response(status=self._random.choice((500, 503)), text="Internal error; unable to process")
        draw -= plan.server_error
        if draw < plan.too_many_requests:
            return _error(429, -1003, "Too many requests (fault injection).", 1)
        draw -= plan.too_many_requests
        if draw < plan.drop and request.transport is not None:
            request.transport.close()  # no answer at all: the client sees the connection dropped
            return web.Response(status=599)
        return None


def _error(status: int, code: int, message: str, retry_after_s: float) -> web.Response:
    response = web.json_response({"code": code, "msg": message}, status=status)
    response.headers["Retry-After"] = str(max(1, round(retry_after_s)))
    return response
