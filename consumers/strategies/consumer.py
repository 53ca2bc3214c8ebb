"""Strategy consumer: on each closed bar, window → target → order for target − (position + pending)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from consumers.stores.ports import Account, AccountKey, BarStore, Book, Decision
from consumers.stores.transitions import moves_only_the_cursor
from consumers.strategies.base import Strategy
from consumers.strategies.informative import InformativeBars, InformativeStream
from consumers.strategies.sizing import Stake
from consumers.strategies.targets import InvalidTarget, remembering_checker
from consumers.strategies.window import Window
from events.dead_letters import DeadLetters
from events.models import BarClosed, Event, OrderRequested, TargetChanged, new_order_id
from events.streams import StreamKey

log = logging.getLogger(__name__)
NO_NEWEST = sys.maxsize  # the newest bar held not known: every later bar's window is asked for


@dataclass(frozen=True, slots=True)
class StrategyConsumer:
    """Turns bars into decisions for one configured strategy instance (`name` is its sub-account owner).

    Decisions are made in bar order, each on a complete window, whatever order bars arrive in:
    a bar that completes later bars' windows decides them too (catch-up), a bar at or before the
    cursor decides nothing (so a stale bar never moves a target back), and the order id comes
    from (strategy, exchange, symbol, bar) so a redelivery can only repeat the same order.
    """

    name: str
    strategy: Strategy
    bars: BarStore
    book: Book
    dead_letters: DeadLetters  # where a strategy's unusable answers go, naming the strategy, bar and value
    stake: Stake | None = None  # sized in the quote or a share of equity; None: the strategy's target is base units
    informative: tuple[InformativeStream, ...] = ()  # streams it reads but never decides on (the runtime stores them)
    checked_target: Callable[[object], Decimal] = field(
        default_factory=remembering_checker, init=False, repr=False, compare=False
    )
    lookback: int = field(init=False, repr=False, compare=False)  # the strategy's, read once: its params are frozen
    account_keys: dict[StreamKey, AccountKey] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookback", self.strategy.lookback)

    def on_bars(self, bars: Sequence[BarClosed]) -> list[Event]:
        """Decide a batch (a minute of every symbol, on AWS): one read of the strategy's accounts before, one
        write of what changed without an order or a new target (its cursors) after."""
        self.book.begin_decisions(self.name)
        emitted = [event for bar in bars for event in self.on_bar(bar)]
        self.book.end_decisions()
        return emitted

    def on_bar(self, bar: BarClosed) -> list[Event]:
        self.bars.add(bar)
        return self.decide_bar(bar, StreamKey.of(bar))

    def decide_bar(self, bar: BarClosed, stream: StreamKey, newest_ms: int | None = None) -> list[Event]:
        """What `bar` (of `stream`, already in the bar store) lets this strategy decide. Strategies that share a
        bar store and hear the same bars (a sweep's parameter sets) are each handed it here, with the per-bar
        work (storing it, its stream key, the open time of the stream's newest bar held: `newest_ms`) done once
        for all of them (`infra/local/consumer_group.py`). Without `newest_ms`, the store is asked for each later
        bar's window until one is missing."""
        key = self.account_keys.get(stream)
        if key is None:
            key = self.account_keys[stream] = AccountKey(self.name, bar.exchange, bar.symbol)
        account = self.book.account(key)
        cursor = account.decided_through_ms
        open_time_ms = bar.open_time_ms
        if cursor is not None and open_time_ms <= cursor:
            return self._in_flight_order(key, bar)
        interval_ms = bar.close_time_ms - open_time_ms + 1  # bar.interval_ms, without a property's call per strategy
        lookback = self.lookback
        bars = self.bars
        # This bar can complete the windows of itself and the next lookback-1 bars; once one
        # decides, keep going while the following bars (already here, having arrived early) do too.
        # Start at the first undecided bar whose window can contain this one, not at this bar: a
        # concurrent delivery (another Lambda) may have stored an earlier bar without deciding it yet,
        # and deciding this bar first would move the cursor past it for good.
        first = open_time_ms - (lookback - 1) * interval_ms
        if cursor is not None and cursor + interval_ms > first:
            first = cursor + interval_ms
        # in order and warmed up, the first candidate is this bar and its window is whole: no search
        window = bars.window(stream, first, lookback)
        candidate = first
        if window is None:
            last = open_time_ms + (lookback - 1) * interval_ms
            found = _first_complete_window(bars, stream, first, last, lookback, interval_ms=interval_ms)
            window = None if found is None else bars.window(stream, found, lookback)
            if found is None or window is None:
                return []
            candidate = found
        emitted = self._decide(key, window, account)  # one account read per decision: this one serves the first
        candidate += interval_ms
        last_held = NO_NEWEST if newest_ms is None else newest_ms  # in order: this bar, and no later one is asked
        while candidate <= last_held and (window := bars.window(stream, candidate, lookback)) is not None:
            # that decision changed the account: a catch-up decision (a bar that came early) reads it again
            emitted += self._decide(key, window, self.book.account(key))
            candidate += interval_ms
        return emitted

    def _decide(self, key: AccountKey, window: Window, account: Account) -> list[Event]:
        bar = window.last
        if self.informative:
            window.__dict__["informative_bars"] = InformativeBars(self.bars, bar, self.informative, self.lookback)
        previous_target = account.target
        stake = self.stake
        try:
            if stake is None:
                target = self.checked_target(self.strategy.target(window, previous_target))
            else:
                units = self.checked_target(self.strategy.target(window, stake.units_of(previous_target)))
                target = stake.target(units, previous_target, account, bar.close)
        except Exception as error:
            target = self._refuse(error, bar, previous_target)
        # what it holds and has ordered, only compared with the target here: the position itself while nothing is
        # pending (most bars), and no subtraction unless they differ (a nonzero difference never rounds to 0)
        held = account.position + account.pending if account.pending else account.position
        if target == held or target == account.refused_target:  # noqa: PLR1714 (no tuple made per strategy-bar)
            order = None
        else:  # wanted, exactly as it always was: target − (position + pending)
            order = _order(self.name, bar, target - (account.position + account.pending), target)
        if moves_only_the_cursor(account, target, order):  # most bars: nothing to record but how far it decided
            self.book.move_cursor(key, bar.open_time_ms, target)  # nothing to emit, whether or not it moved it
            return []
        if not self.book.decide(Decision(key, bar.open_time_ms, target, order)):
            return []  # another delivery decided this bar first
        emitted: list[Event] = []
        if target != previous_target:
            emitted.append(
                TargetChanged.trusted(
                    strategy=self.name,
                    exchange=bar.exchange,
                    symbol=bar.symbol,
                    bar_open_time_ms=bar.open_time_ms,
                    previous_target=previous_target,
                    target=target,
                )
            )
        if order is not None:
            emitted.append(order)
        return emitted

    def _refuse(self, error: Exception, bar: BarClosed, previous_target: Decimal) -> Decimal:
        """A strategy's answer that cannot be a position (or a strategy that raised) leaves the target where it
        was, and the answer is dead-lettered. Either way the bar is decided, so one bad answer (or a strategy
        that raises on one window) never stalls the bars after it."""
        reason = str(error) if isinstance(error, InvalidTarget) else f"raised {error!r}"
        origin = f"strategy {self.name} at {bar.event_id}"
        log.error("strategy answer refused", extra={"strategy": self.name, "bar": bar.event_id, "error": reason})
        self.dead_letters.put(origin, f"{reason}; the target stays {previous_target}", {"bar": bar.event_id})
        return previous_target

    def _in_flight_order(self, key: AccountKey, bar: BarClosed) -> list[Event]:
        """A redelivered bar re-announces its order if still unsettled: its first publish may have been lost."""
        record = self.book.order(new_order_id(key.strategy, key.exchange, key.symbol, bar.open_time_ms))
        if record is None or record.settlement is not None:
            return []
        return [record.request]


def _order(strategy: str, bar: BarClosed, wanted: Decimal, target: Decimal) -> OrderRequested:
    """The order for `wanted` (target − (position + pending), not zero) at this bar."""
    return OrderRequested.trusted(
        order_id=new_order_id(strategy, bar.exchange, bar.symbol, bar.open_time_ms),
        strategy=strategy,
        exchange=bar.exchange,
        symbol=bar.symbol,
        side="buy" if wanted > 0 else "sell",
        qty=abs(wanted),
        target=target,
        reference_price=bar.close,
        bar_open_time_ms=bar.open_time_ms,
    )


def _first_complete_window(
    bars: BarStore, stream: StreamKey, first_end_ms: int, last_end_ms: int, length: int, *, interval_ms: int
) -> int | None:
    """The first bar in [first_end_ms, last_end_ms] whose window is complete: asked of a store that
    indexes its runs of bars, else found by probing each candidate's window."""
    indexed = getattr(bars, "first_complete_window", None)
    if indexed is not None:
        found: int | None = indexed(stream, first_end_ms, last_end_ms, length)
        return found
    candidate = first_end_ms
    while candidate <= last_end_ms:
        if bars.window(stream, candidate, length) is not None:
            return candidate
        candidate += interval_ms
    return None
