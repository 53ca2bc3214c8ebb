"""A real exchange behind the Broker port, through ccxt: at most one market order per order id, money exact.

The order id is sent as the exchange's client order id, and every attempt starts by asking the exchange
for that id. Exchanges (Binance among them) accept a client id again once its order is filled, so sending
blindly after a timeout could trade twice; looking up first makes a retried call, or a retried Lambda,
find the order the lost answer was about. Network trouble is retried (lookup first) for a bounded time,
then raised, so the caller's own retry comes back later, just as safely.

ccxt is used synchronously (Lambda handlers are sync) with `exchange.number = str`, so every amount,
price and fee arrives as the exchange's decimal string and is only ever read into a Decimal.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import ccxt

from consumers.execution.broker import Execution, Refusal
from consumers.reconciliation.ports import ExchangeUnreachable, OpenOrder, StillOpen
from events.exchange_urls import point_at
from events.models import OrderRequested

log = logging.getLogger(__name__)
T = TypeVar("T")

API_KEY_VARIABLE = "STDS_EXCHANGE_API_KEY"
SECRET_VARIABLE = "STDS_EXCHANGE_SECRET"
REDACTED = "<redacted>"
# timeouts, drops, 5xx, rate limits, and answers that could not be read: ask again (lookup first), never resend
UNKNOWN_OUTCOME = (ccxt.NetworkError, ccxt.BadResponse)


class MissingCredentials(ValueError):
    """The credentials are absent or unreadable; the message never carries any part of them."""


class BrokerUnavailable(Exception):
    """The exchange could not be reached for long enough; nothing is known to be traded twice, retry later."""


class OrderStillOpen(Exception):
    """The order exists but is not done yet, so there is no final execution to report; retry later."""


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    secret: str

    def __repr__(self) -> str:
        return f"Credentials(api_key={REDACTED}, secret={REDACTED})"

    __str__ = __repr__


class SecretReader(Protocol):
    """The part of a boto3 Secrets Manager client this module uses."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...  # noqa: N803 (boto3's spelling)


def credentials_from_environment(environ: Mapping[str, str] = os.environ) -> Credentials:
    api_key, secret = environ.get(API_KEY_VARIABLE), environ.get(SECRET_VARIABLE)
    if not api_key or not secret:
        raise MissingCredentials(f"set both {API_KEY_VARIABLE} and {SECRET_VARIABLE}")
    return Credentials(api_key, secret)


# what the deployed secret holds until the keys are put in it: JSON from the start, so the refusal names it
SECRET_TEMPLATE = '{"apiKey": "", "secret": ""}'


def credentials_from_secrets_manager(secret_id: str, client: SecretReader) -> Credentials:
    """Read a JSON secret {"apiKey": ..., "secret": ...}; errors name the secret, never its content."""
    text = client.get_secret_value(SecretId=secret_id).get("SecretString")
    if text == SECRET_TEMPLATE:  # as the stack created it
        raise MissingCredentials(
            f"keys not set in secret {secret_id}: put the exchange's apiKey and secret in it "
            f"(aws secretsmanager put-secret-value --secret-id {secret_id} --secret-string "
            """'{"apiKey": "...", "secret": "..."}')"""
        )
    return credentials_from_json(text if isinstance(text, str) else "", f"secret {secret_id!r}")


def credentials_from_json(text: str, origin: str) -> Credentials:
    """{"apiKey": ..., "secret": ...} from a secret or a key file; errors name `origin`, never the content."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # nested past the parser's depth: not keys either
        document = None  # the decode error quotes the document: drop it
    if not isinstance(document, dict):
        raise MissingCredentials(f"{origin} is not a JSON object with apiKey and secret")
    api_key, secret = document.get("apiKey"), document.get("secret")
    if not isinstance(api_key, str) or not isinstance(secret, str) or not api_key or not secret:
        raise MissingCredentials(f"{origin} lacks a string apiKey or secret")
    return Credentials(api_key, secret)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying through network trouble before handing the order back to the caller."""

    base_s: float = 0.2
    cap_s: float = 5.0
    give_up_after_s: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


class CcxtBroker:
    """Market orders on one ccxt exchange; see the module docstring for why each attempt looks up first."""

    def __init__(
        self,
        exchange_id: str,
        credentials: Credentials,
        *,
        sandbox: bool = False,
        rest_url: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout_ms: int = 10_000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        exchange_class = getattr(ccxt, exchange_id)
        self.exchange: Any = exchange_class(
            {
                "apiKey": credentials.api_key,
                "secret": credentials.secret,
                "enableRateLimit": True,
                "timeout": timeout_ms,
                # spot only, and no private wallet/margin calls when loading markets
                "options": {
                    "defaultType": "spot",
                    "fetchMarkets": ["spot"],
                    "fetchCurrencies": False,
                    "fetchMargins": False,
                },
            }
        )
        self.exchange.number = str  # keep the exchange's decimal strings exact
        # ccxt logs request headers (the API key among them) at debug level: log through a redacting adapter
        self.exchange.logger = _Redacting(logging.getLogger("ccxt.base.exchange"), credentials)
        if sandbox:
            self.exchange.set_sandbox_mode(True)
        if rest_url:
            point_at(self.exchange, rest_url)
        self.exchange_id = exchange_id
        self.sandbox = sandbox
        self.rest_url = rest_url
        self.retry = retry
        self._sleep = sleep
        self._redact = _Redactor(credentials)

    def __repr__(self) -> str:
        return f"CcxtBroker(exchange_id={self.exchange_id!r}, sandbox={self.sandbox}, rest_url={self.rest_url!r})"

    def execute(self, order: OrderRequested) -> Execution | Refusal:
        """Trade `order` at market at most once, however often this is called for its id."""
        try:
            return self._patiently(f"order {order.order_id}", lambda: self._attempt(order))
        except ExchangeUnreachable as error:
            raise BrokerUnavailable(str(error)) from None

    # the exchange account as reconciliation sees it (consumers.reconciliation.ports.ExchangeAccount)

    def balances(self) -> dict[str, Decimal]:
        totals = self._patiently("balances", lambda: self.exchange.fetch_balance()["total"])
        return {asset: Decimal(amount) for asset, amount in totals.items() if amount is not None}

    def open_orders(self, symbols: list[str]) -> list[OpenOrder]:
        def fetch() -> list[dict[str, Any]]:
            self.exchange.load_markets()
            known = [symbol for symbol in symbols if symbol in self.exchange.markets]
            return [order for symbol in known for order in self.exchange.fetch_open_orders(symbol)]

        return [
            OpenOrder(str(o.get("clientOrderId") or o["id"]), o["symbol"], o["side"], Decimal(o.get("remaining") or 0))
            for o in self._patiently("open orders", fetch)
        ]

    def find(self, order: OrderRequested) -> Execution | Refusal | StillOpen | None:
        def look() -> Execution | Refusal | StillOpen | None:
            self.exchange.load_markets()
            found = self._lookup(order) if order.symbol in self.exchange.markets else None
            if found is None:
                return None
            if found.get("status") == "open":
                return StillOpen(Decimal(found.get("filled") or 0))
            return self._execution(found, order)

        return self._patiently(f"order {order.order_id}", look)

    def assets_of(self, symbol: str) -> tuple[str, str]:
        self._patiently("markets", self.exchange.load_markets)
        market = self.exchange.markets.get(symbol)
        if market is None:
            base, _, quote = symbol.partition("/")
            return base, quote.partition(":")[0]
        return str(market["base"]), str(market["quote"])

    def _patiently(self, what: str, call: Callable[[], T]) -> T:
        """Retry network trouble with backoff for a bounded time; the calls here are all lookups (or
        look up before placing), so asking again is safe."""
        deadline = time.monotonic() + self.retry.give_up_after_s
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except UNKNOWN_OUTCOME as error:  # the order may or may not have reached the exchange
                reason = self._redact(f"{type(error).__name__}: {error}")
                delay = self.retry.delay(attempt)
                if time.monotonic() + delay > deadline:
                    raise ExchangeUnreachable(
                        f"{self.exchange_id} unreachable for {what} after {attempt} attempts: {reason}"
                    ) from None
                log.warning(
                    "exchange trouble, looking the order up again before any resend",
                    extra={"what": what, "attempt": attempt, "delay_s": delay, "error": reason},
                )
                self._sleep(delay)

    def _attempt(self, order: OrderRequested) -> Execution | Refusal:
        self.exchange.load_markets()
        if order.symbol not in self.exchange.markets:
            return Refusal(f"invalid order: {self.exchange_id} has no market {order.symbol}")
        found = self._lookup(order)
        if found is not None:
            log.info("order already on the exchange, not sending it again", extra={"order_id": order.order_id})
            return self._execution(found, order)
        market = self.exchange.market(order.symbol)
        try:
            amount = str(self.exchange.amount_to_precision(order.symbol, format(order.qty, "f")))
        except ccxt.InvalidOrder as error:
            return Refusal(f"invalid order: {self._redact(str(error))}")
        problem = _limit_problem(market["limits"], Decimal(amount), Decimal(amount) * order.reference_price)
        if problem is not None:
            return Refusal(problem)
        try:
            placed = self.exchange.create_order(
                order.symbol, "market", order.side, amount, None, {"newClientOrderId": order.order_id}
            )
        except ccxt.BadResponse:
            raise  # an unreadable answer is no refusal: the order may have been placed
        except ccxt.InsufficientFunds as error:
            return Refusal(f"insufficient funds: {self._redact(str(error))}")
        except ccxt.InvalidOrder as error:
            return Refusal(f"invalid order: {self._redact(str(error))}")
        except ccxt.ExchangeError as error:  # the exchange answered and refused: no order was placed
            return Refusal(self._redact(f"{type(error).__name__}: {error}"))
        return self._execution(placed, order)

    def _lookup(self, order: OrderRequested) -> dict[str, Any] | None:
        """The order the exchange knows under this id, or None. Any other refusal is raised: without an
        answer to "was it placed?", neither a trade nor a refusal can be reported."""
        try:
            found: dict[str, Any] = self.exchange.fetch_order(None, order.symbol, {"origClientOrderId": order.order_id})
        except ccxt.OrderNotFound:
            return None
        return found

    def _execution(self, placed: Mapping[str, Any], order: OrderRequested) -> Execution | Refusal:
        status = placed.get("status")
        if status == "open":
            raise OrderStillOpen(f"order {order.order_id} is still open on {self.exchange_id}")
        filled = Decimal(placed.get("filled") or 0)
        if filled <= 0:
            return Refusal(f"nothing filled: the exchange reports the order {status}")
        trades = placed.get("trades") or self.exchange.fetch_order_trades(placed["id"], order.symbol)
        market = self.exchange.market(order.symbol)
        price = _average_price(trades, filled, placed)
        paid = fees_by_asset(trades)
        fee, fee_base = paid.pop(market["quote"], Decimal(0)), paid.pop(market["base"], Decimal(0))
        return Execution(qty=filled, price=price, fee=fee, fee_base=fee_base, fee_other=tuple(sorted(paid.items())))


def _limit_problem(limits: Mapping[str, Any], amount: Decimal, cost: Decimal) -> str | None:
    """Why the exchange would refuse this size, checked here so a refusal costs no request."""
    for name, value in (("amount", amount), ("notional", cost)):
        bounds = limits.get("cost" if name == "notional" else "amount") or {}
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and value < Decimal(low):
            return f"below minimum {name}: {value} < {low}"
        if high is not None and value > Decimal(high):
            return f"above maximum {name}: {value} > {high}"
    return None


def _average_price(trades: list[Mapping[str, Any]], filled: Decimal, placed: Mapping[str, Any]) -> Decimal:
    traded = sum((Decimal(t["amount"]) for t in trades), Decimal(0))
    if trades and traded == filled:
        return sum((Decimal(t["amount"]) * Decimal(t["price"]) for t in trades), Decimal(0)) / filled
    return Decimal(placed["cost"]) / filled  # the trades are incomplete: trust the order's quote total


def fees_by_asset(trades: list[Mapping[str, Any]]) -> dict[str, Decimal]:
    """The trades' commissions summed per asset they were paid in, exactly as charged: Binance takes a
    buy's commission from the asset received, a sell's from the quote, or BNB when the account opts in."""
    total: dict[str, Decimal] = {}
    for trade in trades:
        for fee in trade.get("fees") or ([trade["fee"]] if trade.get("fee") else []):
            if fee.get("cost") is None or not fee.get("currency"):
                continue
            total[fee["currency"]] = total.get(fee["currency"], Decimal(0)) + Decimal(fee["cost"])
    return total


class _Redactor:
    def __init__(self, credentials: Credentials) -> None:
        self._secrets = [s for s in (credentials.api_key, credentials.secret) if s]

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class _Redacting(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Formats each record's message itself and blanks the credentials out of it before it is emitted."""

    def __init__(self, logger: logging.Logger, credentials: Credentials) -> None:
        super().__init__(logger, {})
        self._redact = _Redactor(credentials)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, self._redact(text), **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs
