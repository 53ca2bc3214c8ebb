"""In-memory stores: the fast core the SQLite adapter persists, and the default for tests and benchmarks."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from consumers.stores.ports import (
    Account,
    AccountKey,
    Decision,
    KillSwitchState,
    OrderRecord,
    Settlement,
    UnknownOrder,
)
from consumers.stores.transitions import apply_decision, apply_placement, apply_settlement
from consumers.strategies.series import BarSeries
from consumers.strategies.window import Window
from events.models import BarClosed, OrderRequested
from events.streams import StreamKey

DEFAULT_RETENTION_BARS = 2_000
DEFAULT_PROCESSED_CAPACITY = 200_000


class MemoryBarStore:
    """Keeps the last `retention_bars` bars per stream; out-of-order bars are slotted into place."""

    def __init__(self, retention_bars: int = DEFAULT_RETENTION_BARS) -> None:
        self.retention_bars = retention_bars
        self._series: dict[StreamKey, BarSeries] = {}
        self._newest: BarClosed | None = None  # the bar last offered: every strategy of a local run offers it
        # windows made since that bar: strategies with the same lookback (a sweep's parameter sets) decide on the
        # same window, a read-only view, so it is made once; any bar offered after it empties this
        self._windows: dict[tuple[StreamKey, int, int], Window] = {}

    def add(self, bar: BarClosed) -> bool:
        if bar is self._newest:
            return False  # kept or refused a moment ago: the same answer as the series would give again
        self._newest = bar
        if self._windows:
            self._windows.clear()
        key = StreamKey.of(bar)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = BarSeries(bar.interval_ms, self.retention_bars)
        return series.add(bar)

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        key = (stream, end_open_time_ms, length)
        made = self._windows.get(key)
        if made is not None:
            return made
        series = self._series.get(stream)
        if series is None or not series.times or end_open_time_ms > series.times[-1]:
            return None  # the usual probe after a decision: the next bar has not arrived yet
        start = series.span_ending(end_open_time_ms, length)
        if start is None:
            return None
        window = self._windows[key] = Window.over(series, start, start + length)
        return window

    def newest_open_ms(self, stream: StreamKey) -> int | None:
        series = self._series.get(stream)
        return series.times[-1] if series is not None and series.times else None

    def first_complete_window(self, stream: StreamKey, first_end_ms: int, last_end_ms: int, length: int) -> int | None:
        series = self._series.get(stream)
        return None if series is None else series.first_complete_end(first_end_ms, last_end_ms, length)


class MemoryBook:
    """Accounts and orders in dicts; with `track_changes`, `changed_accounts`/`changed_orders` let a persistent
    adapter save deltas (a memory-only run keeps none: a set add per strategy and bar, hashing the account's key)."""

    def __init__(self, starting_cash: Decimal, *, track_changes: bool = False) -> None:
        self.starting_cash = starting_cash
        self._accounts: dict[AccountKey, Account] = {}
        self._orders: dict[str, OrderRecord] = {}
        self._track_changes = track_changes
        self.changed_accounts: set[AccountKey] = set()
        self.changed_orders: set[str] = set()

    def account(self, key: AccountKey) -> Account:
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = Account(key, cash=self.starting_cash)
        return account

    def decide(self, decision: Decision) -> bool:
        account = self._accounts.get(decision.account)
        if account is None:
            account = self.account(decision.account)
        cursor = account.decided_through_ms
        if cursor is not None and decision.bar_open_time_ms <= cursor:
            return False
        order = decision.order
        if order is not None:
            if order.order_id in self._orders:
                return False
            self._orders[order.order_id] = OrderRecord(order)
            if self._track_changes:
                self.changed_orders.add(order.order_id)
        apply_decision(account, decision)
        if self._track_changes:
            self.changed_accounts.add(decision.account)
        return True

    def move_cursor(self, key: AccountKey, bar_open_time_ms: int, target: Decimal) -> bool:
        account = self._accounts.get(key)
        if account is None:
            return self.decide(Decision(key, bar_open_time_ms, target, None))
        cursor = account.decided_through_ms
        if cursor is not None and bar_open_time_ms <= cursor:
            return False
        account.decided_through_ms = bar_open_time_ms
        if self._track_changes:
            self.changed_accounts.add(key)
        return True

    def order(self, order_id: str) -> OrderRecord | None:
        return self._orders.get(order_id)

    def place(self, order: OrderRequested) -> bool:
        if order.order_id in self._orders:
            return False
        key = AccountKey(order.strategy, order.exchange, order.symbol)
        apply_placement(self.account(key), order)
        self._orders[order.order_id] = OrderRecord(order)
        if self._track_changes:
            self.changed_orders.add(order.order_id)
            self.changed_accounts.add(key)
        return True

    def settle(self, settlement: Settlement) -> bool:
        record = self._orders.get(settlement.order_id)
        if record is None:
            raise UnknownOrder(f"order {settlement.order_id} was never requested")
        if record.settlement is not None:
            return False
        request = record.request
        account = self.account(AccountKey(request.strategy, request.exchange, request.symbol))
        apply_settlement(account, request, settlement)
        self._orders[settlement.order_id] = OrderRecord(request, settlement)
        if self._track_changes:
            self.changed_orders.add(settlement.order_id)
            self.changed_accounts.add(account.key)
        return True

    def begin_decisions(self, strategy: str) -> None:
        pass  # every read is already in memory

    def end_decisions(self) -> None:
        pass  # every decision was applied when made

    def accounts(self) -> list[Account]:
        return [account.copy() for account in self._accounts.values()]

    def orders(self) -> list[OrderRecord]:
        return list(self._orders.values())

    def load(self, accounts: list[Account], orders: list[OrderRecord]) -> None:
        """Restore saved state (used by persistent adapters at start-up)."""
        self._accounts = {account.key: account for account in accounts}
        self._orders = {record.request.order_id: record for record in orders}


class MemoryProcessedIds:
    """The most recent `capacity` deliveries: redeliveries come soon after the first, and anything
    older is still caught by the consumers' own idempotency (cursors, order ids)."""

    def __init__(self, capacity: int = DEFAULT_PROCESSED_CAPACITY, *, track_changes: bool = False) -> None:
        self.capacity = capacity
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[str, str]] = deque()  # oldest first, for eviction
        self._track_changes = track_changes
        self.changed: list[tuple[str, str]] = []  # for a persistent adapter to save

    def seen(self, consumer: str, event_id: str) -> bool:
        return (consumer, event_id) in self._seen

    def mark(self, consumer: str, event_id: str) -> None:
        key = (consumer, event_id)
        if key in self._seen:
            return
        self._seen.add(key)
        self._order.append(key)
        if len(self._order) > self.capacity:
            self._seen.discard(self._order.popleft())
        if self._track_changes:
            self.changed.append(key)


class MemoryKillSwitch:
    def __init__(self, state: KillSwitchState | None = None) -> None:
        self._state = state

    def engaged(self) -> KillSwitchState | None:
        return self._state

    def engage(self, state: KillSwitchState) -> None:
        self._state = state

    def release(self) -> None:
        self._state = None

    def settle_flatten(self, flatten: KillSwitchState, reason: str) -> bool:
        if self._state != flatten:
            return False
        self._state = KillSwitchState("halt", reason, flatten.engagement)
        return True


class MemoryReconciliationLog:
    def __init__(self) -> None:
        self._last: str | None = None

    def save(self, document: str) -> None:
        self._last = document

    def last(self) -> str | None:
        return self._last
