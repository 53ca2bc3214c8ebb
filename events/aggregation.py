"""Higher bars from closed lower ones: the one rule that makes every bar above 1m, in the replay, `stds run`,
the streamer on AWS and so for the strategy functions (ARCHITECTURE invariant 9).

A higher bar (say 5m, opening 10:00) is made from the closed sub-bars of its period (the minutes 10:00-10:04)
and exists only once its period is over: when the sub-bar that ends it arrives (10:04, whose close is the
5m bar's close, so there is no one-bar delay), or, if that one is missing, when a sub-bar of a later period
does. It is then final: it is published once, and a sub-bar arriving after it (late, or repeated) changes
nothing. Each stream's sub-bars are taken in order: one at or before the last taken is a repeat or late.

Equal to the exchange's own klines, which Binance builds from the trades of each interval:
- open is the first trade's price, high and low the extremes of the trades, close the last trade's price,
  volumes and trade counts the sums. A minute without trades is still published by Binance, with volume 0 and
  open = high = low = close = the previous close; such a sub-bar adds no trade, so it gives the higher bar
  neither its open nor its extremes (only a period without any trade is built from it: flat at that price).
- A period with missing sub-bars (the exchange itself has none for them: it was down) is built from the
  sub-bars there are, as the exchange builds it from the trades it has; a period with none makes no bar.
- A stream's first period is made only if its first sub-bar opens it: data that starts in the middle of a
  period never saw that period's first part, and a bar built from its tail would not be the exchange's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from events.models import BarClosed, trusted_bar
from events.streams import StreamKey
from events.timeframes import TIMEFRAME_MS, timeframe_ms

ZERO = Decimal(0)


class _Forming:
    """A higher bar's period while its sub-bars arrive: what the traded ones say, and what all of them say."""

    __slots__ = (
        "backfilled",
        "close",
        "high",
        "last_sub_ms",
        "low",
        "open",
        "open_time_ms",
        "quiet_close",
        "quiet_high",
        "quiet_low",
        "quiet_open",
        "quote_volume",
        "trades",
        "volume",
    )

    def __init__(self, open_time_ms: int, first: BarClosed) -> None:
        self.open_time_ms = open_time_ms
        self.last_sub_ms = first.open_time_ms
        self.quiet_open, self.quiet_high, self.quiet_low, self.quiet_close = (
            first.open,
            first.high,
            first.low,
            first.close,
        )
        self.open: Decimal | None = None  # None until a sub-bar with trades arrives
        self.high = self.low = self.close = ZERO
        self.volume = ZERO
        self.quote_volume: Decimal | None = ZERO
        self.trades: int | None = 0
        self.backfilled = False
        self.add(first)

    def add(self, sub: BarClosed) -> None:
        self.last_sub_ms = sub.open_time_ms
        self.quiet_high = max(self.quiet_high, sub.high)
        self.quiet_low = min(self.quiet_low, sub.low)
        self.quiet_close = sub.close
        if sub.volume > ZERO:
            if self.open is None:
                self.open, self.high, self.low = sub.open, sub.high, sub.low
            else:
                self.high = max(self.high, sub.high)
                self.low = min(self.low, sub.low)
            self.close = sub.close
        self.volume += sub.volume
        quote_volume, trades = sub.quote_volume, sub.trades
        self.quote_volume = (
            None if quote_volume is None or self.quote_volume is None else self.quote_volume + quote_volume
        )
        self.trades = None if trades is None or self.trades is None else self.trades + trades
        self.backfilled = self.backfilled or sub.backfilled

    def bar(self, stream: StreamKey, timeframe: str, interval_ms: int) -> BarClosed:
        exchange, symbol, _ = stream
        if self.open is None:  # not one trade in the whole period: flat at the price it kept
            prices = (self.quiet_open, self.quiet_high, self.quiet_low, self.quiet_close)
        else:
            prices = (self.open, self.high, self.low, self.close)
        return trusted_bar(
            exchange,
            symbol,
            timeframe,
            self.open_time_ms,
            self.open_time_ms + interval_ms - 1,
            *prices,
            self.volume,
            self.quote_volume,
            self.trades,
            self.backfilled,
        )


class BarAggregator:
    """Turns closed bars into the closed higher bars of `timeframes`, per stream.

    `add(bar)` returns what to publish, in order: the bar itself, then every higher bar it closed. A bar of
    one of `timeframes` given directly (a 5m file, a recording that holds the higher bars) is passed through
    once, and a higher bar already made or passed is not given again; the higher bars of one stream are each
    made from one timeframe of sub-bars (the first that arrived for them), so a recording of both 1m and 5m
    bars never counts a minute twice.
    """

    def __init__(self, timeframes: Iterable[str]) -> None:
        self.timeframes = {
            timeframe: timeframe_ms(timeframe) for timeframe in sorted(set(timeframes), key=timeframe_ms)
        }
        self._forming: dict[tuple[StreamKey, str], _Forming] = {}
        self._source: dict[tuple[str, str, str], str] = {}  # (exchange, symbol, higher timeframe) → sub timeframe
        self._made: dict[tuple[str, str, str], int] = {}  # (exchange, symbol, higher timeframe) → last open time
        self._started: set[tuple[StreamKey, str]] = set()  # streams whose first period was decided
        self.late = 0  # sub-bars that came at or before the last one taken for a higher bar: dropped from it

    def add(self, bar: BarClosed) -> list[BarClosed]:
        exchange, symbol, timeframe = stream = StreamKey.of(bar)
        published: list[BarClosed] = []
        if timeframe in self.timeframes:
            key = (exchange, symbol, timeframe)
            if bar.open_time_ms <= self._made.get(key, -1):
                return published  # made already (or passed through): the same fact again
            self._made[key] = bar.open_time_ms
        published.append(bar)
        sub_ms = bar.interval_ms
        for higher, interval_ms in self.timeframes.items():
            if not _above(interval_ms, sub_ms):
                continue
            if self._source.setdefault((exchange, symbol, higher), timeframe) != timeframe:
                continue
            self._take(stream, higher, interval_ms, bar, published)
        return published

    def forming_from(self, stream: StreamKey, cursor_ms: int) -> int | None:
        """The open time of the first sub-bar of the oldest period that the sub-bar after `cursor_ms` continues
        (None when that sub-bar opens every period): what a restarted streamer reads into the aggregator, without
        publishing it again, for the periods still forming to be made whole."""
        sub_ms = timeframe_ms(stream.timeframe)
        after_ms = cursor_ms + sub_ms
        starts = [
            after_ms - after_ms % interval_ms for interval_ms in self.timeframes.values() if _above(interval_ms, sub_ms)
        ]
        oldest = min(starts, default=after_ms)
        return oldest if oldest < after_ms else None

    def seed(self, stream: StreamKey, published: Iterable[BarClosed]) -> list[BarClosed]:
        """After a restart: `published`, the sub-bars of `stream` from `forming_from` (or earlier) to its cursor,
        taken without being given again, and the sub-bars that follow known to be whole: a period whose first minutes
        the exchange lacks is made from those there are, as it would have been had nothing stopped, not refused as
        data that began inside it. Returns the higher bars they close, for the caller to publish those that were
        not delivered before the restart (the rest went out then)."""
        for higher in self.timeframes:
            self._started.add((stream, higher))
        return [made for bar in published for made in self.add(bar)[1:]]

    def _take(
        self, stream: StreamKey, higher: str, interval_ms: int, sub: BarClosed, published: list[BarClosed]
    ) -> None:
        """Adds `sub` to its period of `higher`; the higher bars it closed go to `published`: the period before
        (a later sub-bar shows it is over) and its own (when `sub` is its last), both at once after a gap."""
        key = (stream, higher)
        forming = self._forming.get(key)
        period_ms = sub.open_time_ms - sub.open_time_ms % interval_ms
        if forming is not None and sub.open_time_ms <= forming.last_sub_ms:
            self.late += 1
            return
        if forming is not None and period_ms > forming.open_time_ms:  # its period is over: a later sub-bar came
            self._publish(stream, higher, interval_ms, forming, published)
            forming = None
        if forming is None:
            if period_ms <= self._made.get((stream.exchange, stream.symbol, higher), -1):
                self.late += 1
                return
            if key not in self._started:
                self._started.add(key)
                if sub.open_time_ms != period_ms:  # the data began inside this period: never saw its start
                    self._made[(stream.exchange, stream.symbol, higher)] = period_ms
                    return
            forming = self._forming[key] = _Forming(period_ms, sub)
        else:
            forming.add(sub)
        if sub.open_time_ms + sub.interval_ms == period_ms + interval_ms:  # its last sub-bar: the period is over
            self._publish(stream, higher, interval_ms, forming, published)

    def _publish(
        self, stream: StreamKey, higher: str, interval_ms: int, forming: _Forming, published: list[BarClosed]
    ) -> None:
        del self._forming[(stream, higher)]
        key = (stream.exchange, stream.symbol, higher)
        if forming.open_time_ms <= self._made.get(key, -1):
            return  # given directly already
        self._made[key] = forming.open_time_ms
        published.append(forming.bar(stream, higher, interval_ms))


def _above(interval_ms: int, sub_ms: int) -> bool:
    """Whether bars of `interval_ms` are made of sub-bars of `sub_ms`: longer, and a whole number of them."""
    return interval_ms > sub_ms and not interval_ms % sub_ms


class HigherBars:
    """A bar sink in front of another: each bar goes on, followed by the higher bars it closed. The one way every
    runtime (replay, `stds run`, `stds stream`) puts the aggregator between its bars and where they go."""

    def __init__(self, sink: Callable[[BarClosed], None], timeframes: Iterable[str]) -> None:
        self.sink = sink
        self.aggregator = BarAggregator(timeframes)

    def __call__(self, bar: BarClosed) -> None:
        for made in self.aggregator.add(bar):
            self.sink(made)


def higher_timeframes(patterns: Iterable[dict[str, object]], base: str = "1m") -> set[str]:
    """The timeframes above `base` that these event patterns name (`detail.timeframe`): what a runtime aggregates."""
    base_ms = timeframe_ms(base)
    wanted: set[str] = set()
    for pattern in patterns:
        detail = pattern.get("detail")
        named = detail.get("timeframe") if isinstance(detail, dict) else None
        for timeframe in named if isinstance(named, list) else ():
            if isinstance(timeframe, str) and TIMEFRAME_MS.get(timeframe, 0) > base_ms:
                wanted.add(timeframe)
    return wanted
