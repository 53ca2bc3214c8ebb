"""Binance spot trading on the loopback exchange: signed `/api/v3/{order,myTrades,account}`, market orders only.

Requests are checked the way Binance checks them (API key header, HMAC-SHA256 signature over the sent
parameters, timestamp inside recvWindow, LOT_SIZE and NOTIONAL filters, balances) and answered with
Binance's field names and error codes, so ccxt's binance class maps every outcome to the exception it
raises against the real exchange. Like Binance, a client order id may be used again once its order is no
longer open: a blind retry of a filled order trades twice, which is what a broker must be tested against.

The fault knobs make the failures a broker has to survive happen on demand: a throttled, unavailable or
dropped request (nothing done), an order executed whose answer never arrives, thin liquidity.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tools.local_exchange.tape import Tape

EIGHT = Decimal("0.00000001")
FEE_RATE = Decimal("0.001")  # Binance's standard spot taker fee, 0.1%
BNB_FEE_RATE = Decimal("0.00075")  # paid in BNB, Binance takes 25% off
MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_TRADES = 1000
CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
QUANTITY = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
INTERVAL_MS = 60_000

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


class RequestFault(Enum):
    """A signed request that fails before the server does anything with it."""

    THROTTLE = "throttle"  # HTTP 429, code -1003
    UNAVAILABLE = "unavailable"  # HTTP 503 with a plain-text body, as from a load balancer
    DROP = "drop"  # the connection is closed without an answer


@dataclass
class SpotAccount:
    """The one account the local exchange trades for; assets missing from `balances` hold nothing."""

    api_key: str = "local-api-key"
    secret: str = "local-secret"
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(100_000)})

    def __repr__(self) -> str:
        return f"SpotAccount(api_key=<redacted>, secret=<redacted>, balances={self.balances!r})"


@dataclass(frozen=True)
class Filters:
    """The exchangeInfo filters a market order is checked against."""

    min_qty: Decimal
    max_qty: Decimal
    step: Decimal
    min_notional: Decimal
    max_notional: Decimal

    @classmethod
    def of(cls, info: Mapping[str, Any]) -> Filters:
        by_type = {f["filterType"]: f for f in info["filters"]}
        lot, notional = by_type["LOT_SIZE"], by_type["NOTIONAL"]
        return cls(
            min_qty=Decimal(lot["minQty"]),
            max_qty=Decimal(lot["maxQty"]),
            step=Decimal(lot["stepSize"]),
            min_notional=Decimal(notional["minNotional"]),
            max_notional=Decimal(notional["maxNotional"]),
        )


@dataclass(frozen=True)
class Fill:
    trade_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str


@dataclass(frozen=True)
class Order:
    order_id: int
    client_order_id: str
    market: str
    side: Literal["BUY", "SELL"]
    orig_qty: Decimal
    time_ms: int
    fills: tuple[Fill, ...]
    resting: bool = False  # accepted, nothing done yet: an order the exchange holds open

    @property
    def executed_qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), Decimal(0))

    @property
    def quote_qty(self) -> Decimal:
        return sum((f.qty * f.price for f in self.fills), Decimal(0))

    @property
    def status(self) -> str:
        if self.resting:
            return "NEW"
        # a market order never rests: what the book could not fill expires at once
        return "FILLED" if self.executed_qty == self.orig_qty else "EXPIRED"


class Rejected(Exception):
    """A Binance error answer: HTTP status plus the {"code", "msg"} body."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg

    def response(self) -> web.Response:
        return _json({"code": self.code, "msg": self.msg}, status=self.status)


def mandatory(name: str) -> Rejected:
    return Rejected(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def last_closed_price(tape: Tape, market: str, now_ms: int) -> Decimal:
    """Close of the latest bar that has closed by `now_ms`; before any has, the first bar's open."""
    times = tape.open_times[market]
    index = bisect.bisect_right(times, now_ms - INTERVAL_MS) - 1
    series = tape.bars[market]
    return series[index].close if index >= 0 else series[0].open


class SpotOrders:
    """Order book keeping and the HTTP handlers for one account on the local exchange."""

    def __init__(
        self, tape: Tape, now_ms: Callable[[], int], markets: Mapping[str, Mapping[str, Any]], account: SpotAccount
    ) -> None:
        self.tape = tape
        self.now_ms = now_ms
        self.markets = {market: (info["baseAsset"], info["quoteAsset"]) for market, info in markets.items()}
        self.filters = {market: Filters.of(info) for market, info in markets.items()}
        self.account = account
        self.orders: list[Order] = []
        self.placed: Counter[str] = Counter()  # orders placed per client order id: a retry-safe broker keeps these at 1
        # knobs
        self.prices: dict[str, Decimal] = {}  # per market id, overrides the tape's last close
        self.liquidity: Decimal | None = None  # most base quantity one market order can fill
        self.fills_per_order: int = 1  # split a fill over this many trades ...
        self.fill_price_step = Decimal(0)  # ... each this much worse than the one before
        # like Binance: the commission is taken from the asset received (a buy's base, a sell's quote), or,
        # with "BNB", in BNB at `bnb_price` quote per BNB while the account holds enough of it
        self.commission_in: Literal["received", "BNB"] = "received"
        self.bnb_price = Decimal(300)
        self.request_faults: deque[RequestFault | None] = deque()  # one taken per signed request; None: no fault
        self.fail_next_after_execute = 0  # this many placements execute, then fail as `after_execute`
        self.leave_open_next = 0  # this many placements are accepted and left open (status NEW), nothing traded
        self.after_execute: RequestFault = RequestFault.DROP
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v3/order", self._signed(self._new_order))
        router.add_get("/api/v3/order", self._signed(self._query_order))
        router.add_get("/api/v3/openOrders", self._signed(self._open_orders))
        router.add_get("/api/v3/myTrades", self._signed(self._my_trades))
        router.add_get("/api/v3/account", self._signed(self._account))

    def throttle_next(self, count: int = 1) -> None:
        """The next `count` signed requests are answered 429, as when the request weight is used up."""
        self.request_faults.extend([RequestFault.THROTTLE] * count)

    def price(self, market: str) -> Decimal:
        override = self.prices.get(market)
        return override if override is not None else last_closed_price(self.tape, market, self.now_ms())

    # request checks

    def _signed(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            fault = self.request_faults.popleft() if self.request_faults else None
            if fault is not None:
                return _fail(request, fault)
            body = await request.text()
            try:
                params = self._authenticate(request, body)
                return await handler(request, params)
            except Rejected as rejected:
                return rejected.response()

        return guarded

    def _authenticate(self, request: web.Request, body: str) -> dict[str, str]:
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise Rejected(401, -2014, "API-key format invalid.")
        if not hmac.compare_digest(key, self.account.api_key):
            raise Rejected(401, -2015, "Invalid API-key, IP, or permissions for action.")
        query, form = request.rel_url.raw_query_string, body
        params: dict[str, str] = dict(request.query)
        if form:
            params.update(_form(form))
        signature = params.pop("signature", None)
        if not signature:
            raise mandatory("signature")
        # Binance signs totalParams: the query string followed by the body, without the signature itself
        payload = _without_signature(query) + _without_signature(form)
        expected = hmac.new(self.account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise Rejected(400, -1022, "Signature for this request is not valid.")
        self._check_timestamp(params)
        return params

    def _check_timestamp(self, params: Mapping[str, str]) -> None:
        # the request timestamp is wall-clock time (what ccxt sends), not the accelerated market clock
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
        except (KeyError, ValueError):
            raise mandatory("timestamp") from None
        if window > MAX_RECV_WINDOW_MS:
            raise Rejected(400, -1131, "recvWindow must be less than 60000")
        now = int(time.time() * 1000)
        if timestamp > now + 1000 or now - timestamp > window:
            raise Rejected(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def _market(self, params: Mapping[str, str]) -> str:
        market = params.get("symbol", "").upper()
        if not market:
            raise mandatory("symbol")
        if market not in self.markets:
            raise Rejected(400, -1121, "Invalid symbol.")
        return market

    # endpoints

    async def _new_order(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        market = self._market(params)
        side = params.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise Rejected(400, -1117, "Invalid side.")
        if params.get("type", "").upper() != "MARKET":
            raise Rejected(400, -1116, "Invalid orderType.")
        client_id = params.get("newClientOrderId") or f"local-{next(self._order_ids)}"
        if not CLIENT_ORDER_ID.match(client_id):
            raise Rejected(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
        raw_qty = params.get("quantity", "")
        if not raw_qty:
            raise mandatory("quantity")
        if not QUANTITY.match(raw_qty):
            raise Rejected(400, -1100, "Illegal characters found in parameter 'quantity'.")
        order = self._execute(market, "BUY" if side == "BUY" else "SELL", Decimal(raw_qty), client_id)
        if self.fail_next_after_execute > 0:
            self.fail_next_after_execute -= 1
            return _fail(request, self.after_execute)
        answer = params.get("newOrderRespType", "FULL").upper()
        return _json(_order_answer(order, answer))

    async def _query_order(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        market = self._market(params)
        client_id, order_id = params.get("origClientOrderId"), params.get("orderId")
        if not client_id and not order_id:
            raise Rejected(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        for order in reversed(self.orders):  # a reused client id names its latest order
            if order.market == market and (
                order.client_order_id == client_id if client_id else str(order.order_id) == order_id
            ):
                return _json(_order_query(order))
        raise Rejected(400, -2013, "Order does not exist.")

    async def _open_orders(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        market = self._market(params) if "symbol" in params else None
        return _json([_order_query(o) for o in self.orders if o.resting and market in (None, o.market)])

    async def _my_trades(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        market = self._market(params)
        try:
            limit = min(int(params.get("limit", 500)), MAX_TRADES)
            order_id = int(params["orderId"]) if "orderId" in params else None
            from_id = int(params.get("fromId", 0))
            start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**63))
        except ValueError:
            raise Rejected(400, -1100, "Illegal characters found in a parameter.") from None
        rows = [
            _trade_row(order, fill)
            for order in self.orders
            if order.market == market and (order_id is None or order.order_id == order_id)
            for fill in order.fills
            if fill.trade_id >= from_id and start <= order.time_ms <= end
        ]
        return _json(rows[:limit])

    async def _account(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        assets = sorted({asset for pair in self.markets.values() for asset in pair} | set(self.account.balances))
        rate, zero = _fmt(FEE_RATE), _fmt(Decimal(0))
        return _json(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": rate, "taker": rate, "buyer": zero, "seller": zero},
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self.now_ms(),
                "accountType": "SPOT",
                "balances": [
                    {"asset": a, "free": _fmt(self.account.balances.get(a, Decimal(0))), "locked": _fmt(Decimal(0))}
                    for a in assets
                ],
                "permissions": ["SPOT"],
                "uid": 1,
            }
        )

    # matching

    def _execute(self, market: str, side: Literal["BUY", "SELL"], qty: Decimal, client_id: str) -> Order:
        """Check the filters and the balance, fill what liquidity allows, book it; or raise Rejected."""
        rules, price = self.filters[market], self.price(market)
        if qty < rules.min_qty or qty > rules.max_qty or qty % rules.step != 0:
            raise Rejected(400, -1013, "Filter failure: LOT_SIZE")
        if not rules.min_notional <= qty * price <= rules.max_notional:
            raise Rejected(400, -1013, "Filter failure: NOTIONAL")
        if self.leave_open_next > 0:
            self.leave_open_next -= 1
            order = Order(next(self._order_ids), client_id, market, side, qty, self.now_ms(), (), resting=True)
            self.orders.append(order)
            self.placed[client_id] += 1
            return order
        fills = self._fills(market, side, qty, price, rules.step)
        self._settle(market, side, qty, fills)
        order = Order(next(self._order_ids), client_id, market, side, qty, self.now_ms(), fills)
        self.orders.append(order)
        self.placed[client_id] += 1
        return order

    def _fills(
        self, market: str, side: Literal["BUY", "SELL"], qty: Decimal, price: Decimal, step: Decimal
    ) -> tuple[Fill, ...]:
        filled = qty if self.liquidity is None else min(qty, _floor(self.liquidity, step))
        base, quote = self.markets[market]
        pieces = max(1, self.fills_per_order)
        chunk = _floor(filled / pieces, step)
        sizes = [chunk] * (pieces - 1) + [filled - chunk * (pieces - 1)]
        direction = 1 if side == "BUY" else -1  # walking the book always costs
        fills: list[Fill] = []
        bnb_left = self.account.balances.get("BNB", Decimal(0))
        for level, size in enumerate(s for s in sizes if s > 0):
            at = price + direction * level * self.fill_price_step
            in_bnb = _round8(size * at * BNB_FEE_RATE / self.bnb_price)
            if self.commission_in == "BNB" and in_bnb <= bnb_left:
                bnb_left -= in_bnb
                fills.append(Fill(next(self._trade_ids), at, size, in_bnb, "BNB"))
            elif side == "BUY":
                fills.append(Fill(next(self._trade_ids), at, size, _round8(size * FEE_RATE), base))
            else:
                fills.append(Fill(next(self._trade_ids), at, size, _round8(size * at * FEE_RATE), quote))
        return tuple(fills)

    def _settle(self, market: str, side: Literal["BUY", "SELL"], qty: Decimal, fills: tuple[Fill, ...]) -> None:
        base, quote = self.markets[market]
        balances = self.account.balances
        cost = sum((f.qty * f.price for f in fills), Decimal(0))
        fees: dict[str, Decimal] = {}
        for fill in fills:
            fees[fill.commission_asset] = fees.get(fill.commission_asset, Decimal(0)) + fill.commission
        moves = {base: Decimal(0), quote: Decimal(0)}
        if side == "BUY":
            moves[base] += sum((f.qty for f in fills), Decimal(0))
            moves[quote] -= cost
            needed = {quote: cost + fees.get(quote, Decimal(0))}
        else:
            moves[base] -= sum((f.qty for f in fills), Decimal(0))
            moves[quote] += cost
            needed = {base: qty}  # a sell must hold the whole order, as Binance locks it
        for asset, paid in fees.items():
            moves[asset] = moves.get(asset, Decimal(0)) - paid
        if any(balances.get(asset, Decimal(0)) < amount for asset, amount in needed.items()):
            raise Rejected(400, -2010, "Account has insufficient balance for requested action.")
        for asset, move in moves.items():
            balances[asset] = balances.get(asset, Decimal(0)) + move


def _fail(request: web.Request, fault: RequestFault) -> web.StreamResponse:
    """The failing answer for `fault`; a drop closes the connection and unwinds the handler instead."""
    if fault is RequestFault.THROTTLE:
        weight = "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
        return _json({"code": -1003, "msg": weight}, status=429, headers={"Retry-After": "1"})
    if fault is RequestFault.UNAVAILABLE:
        return web.Response(status=503, text="Service Unavailable")
    transport = request.transport
    if transport is not None:
        transport.close()  # no status line: the way a network drop looks to the client
    raise web.HTTPServiceUnavailable()  # unwinds the handler; nothing reaches the closed socket


def _order_answer(order: Order, answer: str) -> dict[str, Any]:
    """POST /api/v3/order's body for newOrderRespType ACK, RESULT or FULL."""
    ack = {
        "symbol": order.market,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time_ms,
    }
    if answer == "ACK":
        return ack
    result = ack | _order_state(order) | {"workingTime": order.time_ms, "selfTradePreventionMode": "EXPIRE_MAKER"}
    if answer == "RESULT":
        return result
    return result | {"fills": [_fill_row(fill) for fill in order.fills]}


def _fill_row(fill: Fill) -> dict[str, Any]:
    return {
        "price": _fmt(fill.price),
        "qty": _fmt(fill.qty),
        "commission": _fmt(fill.commission),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.trade_id,
    }


def _order_query(order: Order) -> dict[str, Any]:
    """GET /api/v3/order's body: the order's state, with no fills (those come from myTrades)."""
    zero = _fmt(Decimal(0))
    tail = {
        "stopPrice": zero,
        "icebergQty": zero,
        "time": order.time_ms,
        "updateTime": order.time_ms,
        "isWorking": True,
        "workingTime": order.time_ms,
        "origQuoteOrderQty": zero,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    head = {
        "symbol": order.market,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
    }
    return head | _order_state(order) | tail


def _order_state(order: Order) -> dict[str, Any]:
    return {
        "price": _fmt(Decimal(0)),
        "origQty": _fmt(order.orig_qty),
        "executedQty": _fmt(order.executed_qty),
        "cummulativeQuoteQty": _fmt(order.quote_qty),
        "status": order.status,
        "timeInForce": "GTC",
        "type": "MARKET",
        "side": order.side,
    }


def _trade_row(order: Order, fill: Fill) -> dict[str, Any]:
    return {
        "symbol": order.market,
        "id": fill.trade_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "price": _fmt(fill.price),
        "qty": _fmt(fill.qty),
        "quoteQty": _fmt(fill.price * fill.qty),
        "commission": _fmt(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": order.time_ms,
        "isBuyer": order.side == "BUY",
        "isMaker": False,
        "isBestMatch": True,
    }


def _form(body: str) -> dict[str, str]:
    return dict(parse_qsl(body, keep_blank_values=True))


def _without_signature(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


def _json(document: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """Compact JSON, as Binance sends it (ccxt quotes error bodies verbatim in its messages)."""
    return web.Response(body=orjson.dumps(document), status=status, headers=headers, content_type="application/json")


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(EIGHT, rounding=ROUND_HALF_UP):f}"


def _round8(value: Decimal) -> Decimal:
    return value.quantize(EIGHT, rounding=ROUND_HALF_UP)


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step
