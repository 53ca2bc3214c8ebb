"""Which bars go out together: a minute's bars gather until every subscribed symbol closed it, or a wait is over.

Pure bookkeeping (the publisher's worker thread holds the lock and the clock): a minute is due when it is
complete (every subscribed symbol sent or gathered for it) or `wait_s` after its first bar arrived; it goes out
with every earlier minute of its exchange and timeframe still gathering, oldest first, so the bars of one
stream never overtake each other. A bar arriving after its minute went out starts a new gathering for that
minute: the late part follows as its own batch, as soon as it completes the minute or waits out its time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from events.models import BarClosed

MinuteKey = tuple[str, str, int]  # (exchange, timeframe, open time)
SENT_MINUTES_KEPT = 120  # how far back a late bar can still complete its minute (and go out) without waiting


@dataclass
class _Minute:
    first_at: float  # when its first bar arrived
    bars: dict[str, BarClosed] = field(default_factory=dict)  # symbol → bar, in arrival order


class MinuteGathering:
    def __init__(self, symbols: Iterable[str], wait_s: float) -> None:
        self.symbols = frozenset(symbols)
        self.wait_s = wait_s
        self._minutes: dict[MinuteKey, _Minute] = {}
        self._sent: dict[MinuteKey, set[str]] = {}  # symbols already taken, per recent minute

    def add(self, bar: BarClosed, now: float) -> None:
        key = (bar.exchange, bar.timeframe, bar.open_time_ms)
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = _Minute(now)
        minute.bars.setdefault(bar.symbol, bar)

    def due(self, now: float, *, hurry: bool = False) -> list[MinuteKey]:
        """The minutes to send now, oldest first (with `hurry`: all of them)."""
        newest_due: dict[tuple[str, str], int] = {}
        for (exchange, timeframe, open_time_ms), minute in self._minutes.items():
            complete = self.symbols <= self._sent.get((exchange, timeframe, open_time_ms), set()) | minute.bars.keys()
            if hurry or complete or now >= minute.first_at + self.wait_s:
                series = (exchange, timeframe)
                newest_due[series] = max(open_time_ms, newest_due.get(series, open_time_ms))
        return sorted(key for key in self._minutes if key[2] <= newest_due.get(key[:2], -1))

    def take(self, key: MinuteKey) -> tuple[float, list[BarClosed]]:
        """The minute's bars, no longer gathering, with when its first bar arrived."""
        minute = self._minutes.pop(key)
        bars = list(minute.bars.values())
        self._sent.setdefault(key, set()).update(minute.bars)
        if len(self._sent) > SENT_MINUTES_KEPT:
            interval = bars[0].interval_ms
            horizon = max(open_time_ms for _, _, open_time_ms in self._sent) - SENT_MINUTES_KEPT * interval
            self._sent = {sent: symbols for sent, symbols in self._sent.items() if sent[2] > horizon}
        return minute.first_at, bars

    def next_deadline(self) -> float | None:
        """When the oldest-waiting minute falls due (None: nothing gathering)."""
        return min((minute.first_at + self.wait_s for minute in self._minutes.values()), default=None)

    def bars(self) -> Iterator[BarClosed]:
        for minute in self._minutes.values():
            yield from minute.bars.values()
