"""What the dashboard reads, whichever store holds it: the port its SQLite and DynamoDB readers implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from consumers.stores.ports import Account, KillSwitch, OrderRecord
from events.models import OrderFilled
from events.streams import StreamKey


@dataclass(frozen=True, slots=True)
class Closes:
    """The last close in each time bucket of one stream: what a chart draws, never more points than buckets."""

    times_ms: list[int]
    closes: list[float]


@dataclass(frozen=True, slots=True)
class Fill:
    """What the dashboard needs of one OrderFilled (a month of them is built in well under a second); the
    portfolio ledger reads it as it reads an OrderFilled."""

    order_id: str
    strategy: str
    exchange: str
    symbol: str
    side: str
    qty: Decimal
    bar_open_time_ms: int
    price: Decimal
    fee: Decimal
    fee_base: Decimal
    fee_other: dict[str, Decimal]
    signed_qty: Decimal  # + bought, − sold
    position_change: Decimal  # signed_qty less a commission paid in the base asset
    cash_change: Decimal  # −(signed_qty × price) − fee

    @classmethod
    def of_values(
        cls,
        *,
        order_id: str,
        strategy: str,
        exchange: str,
        symbol: str,
        side: str,
        qty: Decimal,
        bar_open_time_ms: int,
        price: Decimal,
        fee: Decimal,
        fee_base: Decimal = Decimal(0),
        fee_other: dict[str, Decimal] | None = None,
    ) -> Fill:
        signed = qty if side == "buy" else -qty
        return cls(
            order_id,
            strategy,
            exchange,
            symbol,
            side,
            qty,
            bar_open_time_ms,
            price,
            fee,
            fee_base,
            fee_other or {},
            signed,
            signed - fee_base,
            -(signed * price) - fee,
        )

    @classmethod
    def of(cls, fill: OrderFilled) -> Fill:
        return cls.of_values(
            order_id=fill.order_id,
            strategy=fill.strategy,
            exchange=fill.exchange,
            symbol=fill.symbol,
            side=fill.side,
            qty=fill.qty,
            bar_open_time_ms=fill.bar_open_time_ms,
            price=fill.price,
            fee=fill.fee,
            fee_base=fill.fee_base,
            fee_other=fill.fee_other,
        )


@dataclass(frozen=True, slots=True)
class StreamSpan:
    """The bars one stream has in the store: the oldest and newest open time, and the newest close."""

    first_open_time_ms: int
    last_open_time_ms: int
    last_close: Decimal


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """What the streamer counts, as it last saved it (None fields: the state was written by a replay)."""

    streams: list[dict[str, Any]] = field(default_factory=list)  # per stream: last bar, lag, silence
    totals: dict[str, int] = field(default_factory=dict)  # published, backfilled, malformed, reconnects
    updated_ms: int | None = None


class BookReader(Protocol):
    def accounts(self) -> list[Account]: ...

    def fills(self) -> list[Fill]:
        """Every fill, in bar order."""
        ...

    def latest_orders(self, limit: int, settlement: str | None = None) -> list[OrderRecord]:
        """The orders written last (decided or settled), optionally only those settled as `settlement`."""
        ...

    def targets(self, exchange: str, symbol: str) -> list[tuple[str, int, Decimal]]:
        """(strategy, bar open time, target) of every order on the symbol: the targets that moved holdings."""
        ...


class MarketReader(Protocol):
    def streams(self) -> dict[StreamKey, StreamSpan]: ...

    def closes(self, stream: StreamKey, start_ms: int, end_ms: int, bucket_ms: int) -> Closes:
        """Bars of `stream` in [start_ms, end_ms], one (the last) per bucket of `bucket_ms` from `start_ms`."""
        ...


class StatusReader(Protocol):
    def health(self) -> StreamHealth: ...

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest dead letters first."""
        ...

    @property
    def kill_switch(self) -> KillSwitch: ...

    def live(self) -> bool:
        """Whether a run is trading on this state now; False once it finished (or stopped): nothing to halt."""
        ...

    def changed(self) -> bool:
        """Whether anything may have changed since the last call (cheap; True when it cannot tell)."""
        ...


class StateReader(BookReader, MarketReader, StatusReader, Protocol):
    """Everything the dashboard reads; one class per store implements it."""
