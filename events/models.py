"""One pydantic model per event, each named as a past-tense fact; money and quantities are Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from events.bar_checks import MAX_PRICE, MAX_VOLUME, bar_problem
from events.ids import ORDER_ID_PATTERN, bar_event_id, bars_event_id, order_event_id
from events.timeframes import timeframe_ms
from events.trusted import trusted_model

# Decimals travel as JSON strings so no consumer (in any language) reads them through a float.
Money = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="json")]
# Bounded so that no arithmetic on a validated event can overflow (see events.bar_checks).
Quantity = Annotated[Money, Field(gt=0, le=MAX_VOLUME)]
Position = Annotated[Money, Field(ge=-MAX_VOLUME, le=MAX_VOLUME)]
Price = Annotated[Money, Field(gt=0, le=MAX_PRICE)]
Fee = Annotated[Money, Field(ge=0, le=MAX_VOLUME)]
Side = Literal["buy", "sell"]
M = TypeVar("M", bound=BaseModel)


class Event(BaseModel):
    """Base of every event detail: frozen, strict about unknown fields, versioned."""

    # validators and serializers are built at first use: a replay builds its events unvalidated (`trusted`)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    schema_version: Literal[1] = 1
    source: ClassVar[str] = "stds"

    @classmethod
    def trusted(cls, **fields: Any) -> Self:
        """Build from values this process already checked, skipping validation (the per-bar hot path).

        Only for in-process producers and consumers; anything from outside goes through
        `model_validate` (see events.codec).
        """
        return construct_trusted(cls, fields)

    @property
    def event_id(self) -> str:
        """Deterministic id: the same fact always gets the same id, so duplicates are recognisable."""
        raise NotImplementedError


class BarClosed(Event):
    """A candle whose interval has ended; published once per (exchange, symbol, timeframe, open time)."""

    source: ClassVar[str] = "stds.producers"

    exchange: str = Field(description="ccxt exchange id, e.g. 'binance'")
    symbol: str = Field(description="ccxt unified symbol, e.g. 'BTC/USDT'")
    timeframe: str = Field(description="candle length, e.g. '1m'")
    open_time_ms: int = Field(description="candle open time, ms since the Unix epoch, UTC")
    close_time_ms: int = Field(description="last ms inside the candle (open_time_ms + interval - 1)")
    open: Money
    high: Money
    low: Money
    close: Money
    volume: Money = Field(description="base-asset volume")
    quote_volume: Money | None = None
    trades: int | None = None
    backfilled: bool = Field(default=False, description="true when recovered over REST after a gap")

    @model_validator(mode="after")
    def _can_be_a_bar(self) -> Self:
        problem = bar_problem(
            self.timeframe,
            self.open_time_ms,
            self.close_time_ms,
            (self.open, self.high, self.low, self.close),
            self.volume,
            self.quote_volume,
            self.trades,
        )
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def event_id(self) -> str:
        return bar_event_id(self.exchange, self.symbol, self.timeframe, self.open_time_ms)

    @property
    def interval_ms(self) -> int:
        """The candle's length in ms: the step between one bar's open time and the next's."""
        return self.close_time_ms - self.open_time_ms + 1

    @property
    def closed_at(self) -> datetime:
        """When the bar became a fact (the ms after its last): the time its envelope carries, live or replayed."""
        return closed_at(self.close_time_ms)


class MinuteBar(BaseModel):
    """One row of a `BarsClosed` batch: a bar without what the batch already says (exchange, timeframe, times)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # as Event's

    symbol: str
    open: Money
    high: Money
    low: Money
    close: Money
    volume: Money
    quote_volume: Money | None = None
    trades: int | None = None
    backfilled: bool = False


class BarsClosed(Event):
    """Bars of one exchange and timeframe that closed at the same open time, published as one event.

    On AWS every `PutEvents` entry is billed per started 64 KB, so the streamer sends a minute of every symbol as
    one batch (several only past 256 KB, the largest event: `events.minute_batches`), and each strategy function
    decides all of its symbols in one invocation. Rules still select by symbol: `detail.symbols` lists the rows'
    symbols, and EventBridge (or an SNS filter policy, on its `String.Array` attribute) matches any element of
    it. Bars that close late (a reconnect's backfill) follow in another batch for the same open time.
    """

    source: ClassVar[str] = "stds.producers"

    exchange: str
    timeframe: str
    open_time_ms: int = Field(description="open time of every bar in the batch, ms since the Unix epoch, UTC")
    symbols: list[str] = Field(description="the rows' symbols in order: what a rule or filter policy selects on")
    bars: list[MinuteBar] = Field(min_length=1, description="one row per symbol, each symbol at most once")

    @classmethod
    def trusted(cls, **fields: Any) -> Self:
        """As `Event.trusted`, with `symbols` taken from the rows when not given."""
        fields.setdefault("symbols", [row.symbol for row in fields.get("bars", [])])
        return construct_trusted(cls, fields)

    @model_validator(mode="before")
    @classmethod
    def _symbols_of_rows(cls, data: Any) -> Any:
        if isinstance(data, dict) and "symbols" not in data and isinstance(data.get("bars"), list):
            rows = data["bars"]
            return {**data, "symbols": [row.get("symbol") if isinstance(row, dict) else None for row in rows]}
        return data

    @model_validator(mode="after")
    def _rows_are_bars(self) -> Self:
        if self.symbols != [row.symbol for row in self.bars]:
            raise ValueError("symbols: must list the rows' symbols, in order")
        try:
            close_time_ms = self.open_time_ms + timeframe_ms(self.timeframe) - 1
        except ValueError as error:
            raise ValueError(str(error)) from None
        seen: set[str] = set()
        for row in self.bars:
            if row.symbol in seen:
                raise ValueError(f"bars: {row.symbol} appears twice")
            seen.add(row.symbol)
            prices = (row.open, row.high, row.low, row.close)
            problem = bar_problem(
                self.timeframe, self.open_time_ms, close_time_ms, prices, row.volume, row.quote_volume, row.trades
            )
            if problem is not None:
                raise ValueError(f"bars: {row.symbol}: {problem}")
        return self

    @property
    def close_time_ms(self) -> int:
        return self.open_time_ms + timeframe_ms(self.timeframe) - 1

    @property
    def closed_at(self) -> datetime:
        return closed_at(self.close_time_ms)

    @property
    def event_id(self) -> str:
        return bars_event_id(self.exchange, self.timeframe, self.open_time_ms, [row.symbol for row in self.bars])

    def bar_events(self) -> list[BarClosed]:
        """Each row as the `BarClosed` it stands for (already checked, so built without validating again)."""
        close_time_ms = self.close_time_ms
        exchange, timeframe, open_time_ms = self.exchange, self.timeframe, self.open_time_ms
        return [
            trusted_bar(exchange, row.symbol, timeframe, open_time_ms, close_time_ms, *_prices_of(row))
            for row in self.bars
        ]


def minute_bar(bar: BarClosed) -> MinuteBar:
    """The batch row for a bar (trusted: the bar was checked when it was made)."""
    return construct_trusted(
        MinuteBar,
        {
            "symbol": bar.symbol,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "quote_volume": bar.quote_volume,
            "trades": bar.trades,
            "backfilled": bar.backfilled,
        },
    )


class TargetChanged(Event):
    """A strategy's wanted position moved; the audit trail behind every order."""

    source: ClassVar[str] = "stds.consumers.strategy"

    strategy: str
    exchange: str
    symbol: str
    bar_open_time_ms: int
    previous_target: Position
    target: Position

    @property
    def event_id(self) -> str:
        return f"target:{self.strategy}:{self.exchange}:{self.symbol}:{self.bar_open_time_ms}"


class OrderEvent(Event):
    """What every order event carries: which order, whose, for what, which way and how much."""

    order_id: str = Field(
        pattern=ORDER_ID_PATTERN, description="deterministic from strategy/exchange/symbol/bar; also the clientOrderId"
    )
    strategy: str
    exchange: str
    symbol: str
    side: Side
    qty: Quantity = Field(description="always positive; the side gives the direction")
    bar_open_time_ms: int = Field(description="open time of the bar whose close triggered the order")

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty

    def identity(self) -> dict[str, Any]:
        """The shared fields, for building the next event about the same order."""
        return {name: getattr(self, name) for name in OrderEvent.model_fields if name != "schema_version"}


class OrderRequested(OrderEvent):
    """A strategy asks execution to trade `qty` to move from (position + pending) to `target`."""

    source: ClassVar[str] = "stds.consumers.strategy"

    target: Position = Field(description="the position the strategy wants once this order fills")
    reference_price: Price = Field(description="close of the triggering bar")

    @property
    def event_id(self) -> str:
        return f"order-requested:{self.order_id}"


class OrderFilled(OrderEvent):
    """Execution traded the order; holdings have been updated exactly once for it. `qty` is what filled."""

    source: ClassVar[str] = "stds.consumers.execution"

    price: Price = Field(description="average fill price")
    fee: Fee = Field(description="commission paid in the quote currency (taken from cash)")
    # Binance takes a buy's commission from the asset received, or in BNB when the account opts in:
    # each is booked in the asset it was paid in, never converted into another one.
    fee_base: Fee = Field(default=Decimal(0), description="commission paid in the base asset (off the position)")
    fee_other: dict[str, Fee] = Field(default={}, description="commissions paid in other assets, e.g. BNB")

    @property
    def position_change(self) -> Decimal:
        """What the account really received or gave in the base asset."""
        return self.signed_qty - self.fee_base

    @property
    def cash_change(self) -> Decimal:
        return -(self.signed_qty * self.price) - self.fee

    @property
    def event_id(self) -> str:
        return f"order-filled:{self.order_id}"


class OrderRejected(OrderEvent):
    """Execution refused the order (risk limit, kill switch, broker refusal); pending is released."""

    source: ClassVar[str] = "stds.consumers.execution"

    reason: str

    @property
    def event_id(self) -> str:
        return f"order-rejected:{self.order_id}"


def trusted_bar(  # noqa: PLR0917 (a bar's own columns, in the order every reader has them)
    exchange: str,
    symbol: str,
    timeframe: str,
    open_time_ms: int,
    close_time_ms: int,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    quote_volume: Decimal | None = None,
    trades: int | None = None,
    backfilled: bool = False,
) -> BarClosed:
    """`BarClosed.trusted` for values already checked by `bar_problem`, built without a keyword dict: the
    per-bar path of a batch's bars (`TrustedBars` is the one of a stream's)."""
    return _bar_of(
        {
            "schema_version": 1,
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "open_time_ms": open_time_ms,
            "close_time_ms": close_time_ms,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": quote_volume,
            "trades": trades,
            "backfilled": backfilled,
        }
    )


class TrustedBars:
    """`trusted_bar` for the bars of one stream (a replay builds one per recorded row): what they all share is set
    once in a template, which each bar's fields copy (cheaper than building their dict key by key)."""

    __slots__ = ("_template",)

    def __init__(self, exchange: str, symbol: str, timeframe: str) -> None:
        self._template = trusted_bar(exchange, symbol, timeframe, 0, 0, *(Decimal(0),) * 5).__dict__

    def bar(  # noqa: PLR0917 (a bar's own columns, in the order every reader has them)
        self,
        open_time_ms: int,
        close_time_ms: int,
        open_: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        volume: Decimal,
        quote_volume: Decimal | None = None,
        trades: int | None = None,
    ) -> BarClosed:
        values = self._template.copy()
        values["open_time_ms"] = open_time_ms
        values["close_time_ms"] = close_time_ms
        values["open"] = open_
        values["high"] = high
        values["low"] = low
        values["close"] = close
        values["volume"] = volume
        values["quote_volume"] = quote_volume
        values["trades"] = trades
        return _bar_of(values)


def _bar_of(fields: dict[str, Any]) -> BarClosed:
    """A BarClosed with these fields (all of them, in declaration order), set without validation."""
    return trusted_model(BarClosed, fields, _BAR_FIELDS_SET)


def _prices_of(row: MinuteBar) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal | None, int | None, bool]:
    return row.open, row.high, row.low, row.close, row.volume, row.quote_volume, row.trades, row.backfilled


_BAR_FIELDS_SET = frozenset(BarClosed.model_fields) - {"schema_version"}  # all a reader sets


def construct_trusted(cls: type[M], fields: dict[str, Any]) -> M:
    """`cls` from the fields given, the others at their defaults (about 3x cheaper than model_construct)."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = {
            name: _REQUIRED if i.is_required() else i.default for name, i in cls.model_fields.items()
        }
    values = layout.copy()
    values.update(fields)  # a dict keeps each key where it was first set: the declaration order stays
    return trusted_model(cls, values, fields)


_REQUIRED: Any = object()
_LAYOUTS: dict[type[BaseModel], dict[str, Any]] = {}


EVENT_TYPES: dict[str, type[Event]] = {
    model.__name__: model
    for model in (BarClosed, BarsClosed, TargetChanged, OrderRequested, OrderFilled, OrderRejected)
}


def new_order_id(strategy: str, exchange: str, symbol: str, bar_open_time_ms: int) -> str:
    return order_event_id(strategy, exchange, symbol, bar_open_time_ms)


def closed_at(close_time_ms: int) -> datetime:
    return datetime.fromtimestamp((close_time_ms + 1) / 1000, tz=UTC)
