"""In-memory stores: the fast core the SQLite adapter persists, and the default for tests and benchmarks."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from decimal import Decimal

from consumers.stores.ports import (
    Account,
    AccountKey,
    Decision,
    OrderRecord,
    Settlement,
    StreamKey,
    UnknownOrder,
)
from consumers.stores.transitions import apply_decision, apply_settlement
from consumers.strategies.window import Window
from events.models import BarClosed

DEFAULT_RETENTION_BARS = 2_000
DEFAULT_PROCESSED_CAPACITY = 200_000


class _Series:
    """One stream's recent bars in open-time order, with closes kept as floats for indicators."""

    __slots__ = ("bars", "closes", "highs", "interval_ms", "lows", "times")

    def __init__(self, interval_ms: int) -> None:
        self.interval_ms = interval_ms
        self.times: list[int] = []
        self.bars: list[BarClosed] = []
        self.closes: list[float] = []
        self.highs: list[float] = []
        self.lows: list[float] = []

    def position_of(self, open_time_ms: int) -> int | None:
        times = self.times
        if not times or open_time_ms > times[-1]:
            return None  # the usual catch-up probe: the next bar has not arrived yet
        if times[-1] == open_time_ms:
            return len(times) - 1
        index = bisect_left(times, open_time_ms)
        return index if index < len(times) and times[index] == open_time_ms else None


class MemoryBarStore:
    """Keeps the last `retention_bars` bars per stream; out-of-order bars are slotted into place."""

    def __init__(self, retention_bars: int = DEFAULT_RETENTION_BARS) -> None:
        self.retention_bars = retention_bars
        self._series: dict[StreamKey, _Series] = {}

    def add(self, bar: BarClosed) -> bool:
        key = StreamKey(bar.exchange, bar.symbol, bar.timeframe)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(bar.close_time_ms - bar.open_time_ms + 1)
        times = series.times
        open_time = bar.open_time_ms
        if not times or open_time > times[-1]:
            times.append(open_time)
            series.bars.append(bar)
            series.closes.append(float(bar.close))
            series.highs.append(float(bar.high))
            series.lows.append(float(bar.low))
            if len(times) >= 2 * self.retention_bars:
                self._trim(series)
            return True
        index = bisect_left(times, open_time)
        if times[index] == open_time or (index == 0 and len(times) >= self.retention_bars):
            return False  # a duplicate, or older than anything a window can still reach
        times.insert(index, open_time)
        series.bars.insert(index, bar)
        series.closes.insert(index, float(bar.close))
        series.highs.insert(index, float(bar.high))
        series.lows.insert(index, float(bar.low))
        return True

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        series = self._series.get(stream)
        if series is None:
            return None
        end = series.position_of(end_open_time_ms)
        if end is None:
            return None
        start = end - length + 1
        # times are unique and sorted, so the span check proves there is no gap inside
        if start < 0 or series.times[start] != end_open_time_ms - (length - 1) * series.interval_ms:
            return None
        stop = end + 1
        return Window(
            series.bars[start:stop],
            closes=series.closes[start:stop],
            highs=series.highs[start:stop],
            lows=series.lows[start:stop],
        )

    def _trim(self, series: _Series) -> None:
        drop = len(series.times) - self.retention_bars
        del series.times[:drop], series.bars[:drop], series.closes[:drop], series.highs[:drop], series.lows[:drop]


class MemoryBook:
    """Accounts and orders in dicts; `changed_accounts`/`changed_orders` let a persistent adapter save deltas."""

    def __init__(self, starting_cash: Decimal) -> None:
        self.starting_cash = starting_cash
        self._accounts: dict[AccountKey, Account] = {}
        self._orders: dict[str, OrderRecord] = {}
        self.changed_accounts: set[AccountKey] = set()
        self.changed_orders: set[str] = set()

    def account(self, key: AccountKey) -> Account:
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = Account(key, cash=self.starting_cash)
        return account

    def decide(self, decision: Decision) -> bool:
        account = self.account(decision.account)
        cursor = account.decided_through_ms
        if cursor is not None and decision.bar_open_time_ms <= cursor:
            return False
        order = decision.order
        if order is not None:
            if order.order_id in self._orders:
                return False
            self._orders[order.order_id] = OrderRecord(order)
            self.changed_orders.add(order.order_id)
        apply_decision(account, decision)
        self.changed_accounts.add(decision.account)
        return True

    def order(self, order_id: str) -> OrderRecord | None:
        return self._orders.get(order_id)

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
        self.changed_orders.add(settlement.order_id)
        self.changed_accounts.add(account.key)
        return True

    def begin_decisions(self, strategy: str) -> None:
        pass  # every read is already in memory

    def end_decisions(self) -> None:
        pass  # every decision was applied when made

    def accounts(self) -> list[Account]:
        return [account.copy() for account in self._accounts.values()]

    def records(self) -> list[OrderRecord]:
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
    def __init__(self, reason: str | None = None) -> None:
        self._reason = reason

    def engaged(self) -> str | None:
        return self._reason

    def engage(self, reason: str) -> None:
        self._reason = reason or "engaged"

    def release(self) -> None:
        self._reason = None


class MemoryReconciliationLog:
    def __init__(self) -> None:
        self._last: str | None = None

    def save(self, document: str) -> None:
        self._last = document

    def last(self) -> str | None:
        return self._last
