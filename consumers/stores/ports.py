"""Small interfaces every store adapter implements (memory, SQLite here; DynamoDB on AWS)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Protocol

from consumers.stores.kill_switch_modes import KillSwitchMode
from consumers.strategies.window import Window
from events.models import BarClosed, OrderFilled, OrderRejected, OrderRequested
from events.streams import StreamKey

ZERO = Decimal(0)

Settlement = OrderFilled | OrderRejected


class AccountKey(NamedTuple):
    """A strategy's sub-account for one symbol on one exchange."""

    strategy: str
    exchange: str
    symbol: str


@dataclass(slots=True)
class Account:
    """Holdings of one sub-account, and how far its strategy has decided."""

    key: AccountKey
    cash: Decimal
    position: Decimal = ZERO
    pending: Decimal = ZERO  # signed quantity ordered but not yet settled
    fees: Decimal = ZERO  # quote and base-asset commissions, valued in the quote at their fill price
    target: Decimal = ZERO
    decided_through_ms: int | None = None  # open time of the last bar the strategy decided on
    fills: int = 0
    rejects: int = 0
    # A rejection is final: that target is not ordered again until the strategy wants another one.
    refused_target: Decimal | None = None
    # commissions paid in neither the base nor the quote asset (BNB on Binance), per asset: the
    # exchange holds that much less of it, which reconciliation must know
    fee_assets: dict[str, Decimal] = field(default_factory=dict)

    def copy(self) -> Account:
        return Account(
            self.key,
            self.cash,
            self.position,
            self.pending,
            self.fees,
            self.target,
            self.decided_through_ms,
            self.fills,
            self.rejects,
            self.refused_target,
            dict(self.fee_assets),
        )


class Decision(NamedTuple):
    """A strategy's verdict at one bar: its new target, and the order (if any) that moves toward it. A tuple:
    one is made per strategy and bar, and a frozen dataclass took 4× as long to make."""

    account: AccountKey
    bar_open_time_ms: int
    target: Decimal
    order: OrderRequested | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    request: OrderRequested
    settlement: Settlement | None = None


class BarStore(Protocol):
    """Bar history per stream. A store that also knows its runs of consecutive bars (memory, SQLite)
    may offer `first_complete_window(stream, first_end_ms, last_end_ms, length) -> int | None`: the
    earliest open time in that range whose `window` is not None. The strategy consumer then finds the
    first decidable bar in one call instead of probing a window per candidate, which made warm-up
    cost grow with the lookback. Such a store may also offer `newest_open_ms(stream) -> int | None`, the
    open time of the newest bar it holds of the stream: a local run's consumer group reads it once per bar
    and spares each of its strategies the probe for a later bar (`infra/local/consumer_group.py`)."""

    def add(self, bar: BarClosed) -> bool:
        """Keep the bar; False when that (stream, open time) is already known or too old to keep."""
        ...

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        """The `length` consecutive bars ending at `end_open_time_ms`, or None if any is missing."""
        ...


class Book(Protocol):
    """Holdings, pending orders and decision cursors; every change is atomic and applied once."""

    def account(self, key: AccountKey) -> Account:
        """Current state (a fresh account with the starting cash if never seen). Do not mutate it."""
        ...

    def decide(self, decision: Decision) -> bool:
        """Atomically: move the cursor to the bar, set the target, record the order and add it to
        pending. False (and no change) if the cursor is already at or past that bar."""
        ...

    def move_cursor(self, key: AccountKey, bar_open_time_ms: int, target: Decimal) -> bool:
        """`decide(Decision(key, bar_open_time_ms, target, None))` for a decision that the caller, from the
        account it just read here, found moves only the cursor (`transitions.moves_only_the_cursor`): most of a
        strategy's bars. A store holding its accounts in memory moves the cursor and nothing else."""
        ...

    def begin_decisions(self, strategy: str) -> None:
        """Before deciding a batch of bars for `strategy`: read at once what its decisions will read
        (where every read is a billed request; elsewhere nothing to do)."""
        ...

    def end_decisions(self) -> None:
        """After the batch: make durable what its decisions changed without writing yet (cursors)."""
        ...

    def order(self, order_id: str) -> OrderRecord | None: ...

    def place(self, order: OrderRequested) -> bool:
        """Record an order no strategy decided (a flatten's close) and count it as pending, atomically and once
        per order id: False (and no change) if that id is already recorded. No cursor or target moves."""
        ...

    def settle(self, settlement: Settlement) -> bool:
        """Apply a fill or reject exactly once per order id; False if it was already settled."""
        ...

    def accounts(self) -> list[Account]: ...

    def orders(self) -> list[OrderRecord]:
        """Every order recorded, each with its settlement once settled."""
        ...


class ProcessedIds(Protocol):
    """Which (consumer, event id) deliveries were fully handled, so a redelivery is skipped cheaply."""

    def seen(self, consumer: str, event_id: str) -> bool: ...

    def mark(self, consumer: str, event_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """An engaged switch: what it lets through (`mode`), why, and which engagement it is (`engagement`, new
    each time, so the closing orders of one flatten never share an id with another's)."""

    mode: KillSwitchMode
    reason: str
    engagement: str

    @classmethod
    def new(cls, mode: KillSwitchMode, reason: str) -> KillSwitchState:
        return cls(mode, reason or "engaged", uuid.uuid4().hex)


class KillSwitch(Protocol):
    """One global switch that stops (`halt`), limits (`reduce-only`) or unwinds (`flatten`) all trading."""

    def engaged(self) -> KillSwitchState | None:
        """The switch as engaged, or None when trading is allowed."""
        ...

    def engage(self, state: KillSwitchState) -> None: ...

    def release(self) -> None: ...

    def settle_flatten(self, flatten: KillSwitchState, reason: str) -> bool:
        """Once a flatten's closing orders are settled: `halt` with `reason`, but only if the switch is still
        that flatten (an operator may have released or re-engaged it meanwhile); False if it was not."""
        ...


class ReconciliationLog(Protocol):
    """Keeps the last reconciliation (a JSON document) where `stds holdings` and the next run find it."""

    def save(self, document: str) -> None: ...

    def last(self) -> str | None: ...


class UnknownOrder(LookupError):
    """A settlement or order event names an order id this book never recorded."""


class OrderMismatch(ValueError):
    """An order event whose fields differ from the order recorded under its id."""


@dataclass(frozen=True)
class Stores:
    """The set of stores a runtime or handler needs, whichever adapter backs them."""

    bars: BarStore
    book: Book
    processed: ProcessedIds
    kill_switch: KillSwitch
    commit: Callable[[], None]  # a consistent point: everything routed so far is fully applied
    close: Callable[[], None]
    reconciliations: ReconciliationLog
