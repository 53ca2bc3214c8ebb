"""Invariant 9, the look-ahead half: a strategy on 5m bars never sees a forming bar, in the replay's runtime and on
the Lambda path (the streamer's higher bars gathered into minute batches, the batch rule, the strategy function's
app). Minutes of several symbols come with gaps, trade-less minutes and repeats; every window a strategy decides
on must hold only 5m bars whose last minute had closed, and the newest of them must be the last one closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.execution.risk import RiskPolicy
from consumers.stores.memory import MemoryBarStore, MemoryBook
from consumers.strategies.app import StrategyApp
from consumers.strategies.base import Strategy
from consumers.strategies.consumer import StrategyConsumer
from consumers.strategies.informative import InformativeStream
from consumers.strategies.window import Window
from events.aggregation import BarAggregator, HigherBars
from events.dead_letters import DeadLetterList
from events.envelope import Envelope, wrap
from events.minute_batches import batch_pattern, batches_of
from events.models import BarClosed, trusted_bar
from events.patterns import compile_pattern
from infra.config import PaperConfig
from infra.local.runtime import LocalRuntime
from infra.local.stores import memory_stores
from infra.strategy_loader import LoadedStrategy

T0 = 1_620_345_600_000
MINUTE = 60_000
FIVE = 5 * MINUTE
PATTERN = {"detail-type": ["BarClosed"], "detail": {"timeframe": ["5m"]}}


@dataclass
class Clock:
    """The newest minute published so far, per symbol: what has closed."""

    closed_through_ms: dict[str, int] = field(default_factory=dict)

    def saw(self, bar: BarClosed) -> None:
        if bar.timeframe == "1m":
            now = self.closed_through_ms.get(bar.symbol, 0)
            self.closed_through_ms[bar.symbol] = max(now, bar.close_time_ms)


class Probe(Strategy):
    """Flips its target on every decision (so orders flow too) and checks each window against the clock."""

    name = "probe"

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.decided: list[tuple[str, int, int]] = []  # (symbol, open time, newest minute closed then)
        self.forming: list[BarClosed] = []  # bars seen before their last minute closed (recorded: the consumer
        # would dead-letter an assertion raised here, as it does any strategy's exception)

    @property
    def lookback(self) -> int:
        return 3

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        newest = self.clock.closed_through_ms[window.last.symbol]
        self.forming += [bar for bar in window.bars if bar.timeframe != "5m" or bar.close_time_ms > newest]
        self.decided.append((window.last.symbol, window.last.open_time_ms, newest))
        return Decimal(1) - current_target


def minutes(draw: st.DrawFn) -> list[BarClosed]:
    """About an hour of two symbols' minutes, in time order as a stream delivers them, with gaps and repeats."""
    bars: list[BarClosed] = []
    for at in range(draw(st.integers(min_value=20, max_value=70))):
        for symbol in ("A/USDT", "B/USDT"):
            kind = draw(st.sampled_from(["trade", "trade", "trade", "quiet", "missing", "repeat"]))
            if kind == "missing":
                continue
            price = Decimal(draw(st.integers(min_value=10, max_value=20)))
            volume = Decimal(0) if kind == "quiet" else Decimal(1)
            bar = trusted_bar(
                "binance", symbol, "1m", T0 + at * MINUTE, T0 + (at + 1) * MINUTE - 1, price, price + 1, price - 1,
                price, volume,
            )  # fmt: skip
            bars += [bar, bar] if kind == "repeat" else [bar]
    return bars


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_replay_runtime_never_shows_a_strategy_a_forming_bar(data: st.DataObject) -> None:
    bars = minutes(data.draw)
    clock = Clock()
    probe = Probe(clock)
    runtime = LocalRuntime(
        [LoadedStrategy("probe", probe, PATTERN)],
        memory_stores(Decimal(100_000), 200),
        DeadLetterList(),
        risk=RiskPolicy(),
        paper=PaperConfig(),
    )
    for bar in bars:
        clock.saw(bar)
        runtime.publish_bar(bar)
    assert_decided_as_each_bar_closed(probe, bars)
    assert runtime.idle_strategies() == ([] if _fives(bars) else ["probe"])


def assert_decided_as_each_bar_closed(probe: Probe, bars: list[BarClosed]) -> None:
    """Every 5m bar with 3 before it in a row is decided, at its last minute when that minute exists (no
    one-bar delay), else at the next minute that shows its period over."""
    assert probe.forming == []
    fives = {(bar.symbol, bar.open_time_ms): bar for bar in _fives(bars)}
    minutes_there = {(bar.symbol, bar.open_time_ms) for bar in bars}
    decidable = {key for key in fives if all((key[0], key[1] - back * FIVE) in fives for back in (1, 2))}
    assert {(symbol, open_ms) for symbol, open_ms, _ in probe.decided} == decidable
    for symbol, open_ms, newest in probe.decided:
        if (symbol, open_ms + FIVE - MINUTE) in minutes_there:
            assert newest == open_ms + FIVE - 1


def _fives(bars: list[BarClosed]) -> list[BarClosed]:
    """The 5m bars the aggregator makes of these minutes, alone."""
    made: list[BarClosed] = []
    higher = HigherBars(made.append, ["5m"])
    for bar in bars:
        higher(bar)
    return [bar for bar in made if bar.timeframe == "5m"]


@dataclass
class SentEvents:
    envelopes: list[Envelope] = field(default_factory=list)

    def publish(self, envelopes: list[Envelope]) -> None:
        self.envelopes.extend(envelopes)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_lambda_path_never_shows_a_strategy_a_forming_bar_and_invokes_it_once_per_5m_batch(
    data: st.DataObject,
) -> None:
    """The streamer's sink (HigherBars in front of the publisher), a minute's bars sent together, the strategy's
    batch rule, and the function's app deciding the rows its pattern wants."""
    bars = minutes(data.draw)
    clock = Clock()
    probe = Probe(clock)
    book = MemoryBook(Decimal(100_000))
    consumer = StrategyConsumer("probe", probe, MemoryBarStore(200), book, DeadLetterList())
    app = StrategyApp(consumer, SentEvents(), compile_pattern(PATTERN))
    rule = compile_pattern(batch_pattern(PATTERN))
    gathered: list[BarClosed] = []
    streamer_sink = HigherBars(gathered.append, ["5m"])
    invocations = 0
    for at in sorted({bar.open_time_ms for bar in bars}):  # minute by minute, as the publisher sends them
        for bar in (bar for bar in bars if bar.open_time_ms == at):
            clock.saw(bar)
            streamer_sink(bar)
        for batch in batches_of(gathered):
            envelope = wrap(batch, batch.closed_at)
            if rule(envelope):
                assert batch.timeframe == "5m" and batch.close_time_ms <= at + MINUTE - 1
                app.on_batch(batch, envelope.time)
                invocations += 1
        gathered.clear()
    # a call per 5m batch, none for a minute: one per period, or two when a gap held one symbol's bar back
    fives = _fives(bars)
    assert len({bar.open_time_ms for bar in fives}) <= invocations <= len(fives)
    assert_decided_as_each_bar_closed(probe, bars)


INFORMATIVE = (InformativeStream("15m"), InformativeStream("15m", "A/USDT"), InformativeStream("15m", "B/USDT"))
FIFTEEN = 15 * MINUTE


class InformativeProbe(Strategy):
    """On 5m bars, reads its own and the other symbol's 15m bars at every decision and notes which it was shown."""

    name = "informative_probe"

    def __init__(self) -> None:
        super().__init__()
        self.at_input = -1  # the index of the minute being published: when each decision happened
        self.shown: list[tuple[BarClosed, int, str, list[int] | None]] = []  # (decided, input, symbol, 15m opens)

    @property
    def lookback(self) -> int:
        return 2

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        decided = window.last
        other = "B/USDT" if decided.symbol == "A/USDT" else "A/USDT"
        for symbol, informative in (
            (decided.symbol, window.informative("15m")),
            (other, window.informative("15m", other)),
        ):
            opens = None if informative is None else [bar.open_time_ms for bar in informative.bars]
            self.shown.append((decided, self.at_input, symbol, opens))
        return current_target


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_informative_bars_never_close_after_the_decided_bar_and_show_every_bar_the_rule_allows(
    data: st.DataObject,
) -> None:
    """Own symbol: the 15m bars closed by the decided 5m bar's close (the one closing at the same minute included,
    though the aggregator makes it after the 5m bar); the other symbol: those closed before it opened. Exactly the
    `lookback` newest of them, or None when one of those is missing (a gap, or not made yet)."""
    bars = minutes(data.draw)
    probe = InformativeProbe()
    fifteen_pattern = {"detail-type": ["BarClosed"], "detail": {"timeframe": ["15m"]}}
    runtime = LocalRuntime(
        [LoadedStrategy("probe", probe, PATTERN, informative=INFORMATIVE, informative_patterns=(fifteen_pattern,))],
        memory_stores(Decimal(100_000), 200),
        DeadLetterList(),
        risk=RiskPolicy(),
        paper=PaperConfig(),
    )
    made_at: dict[tuple[str, int], int] = {}  # (symbol, 15m open) → the input that made it
    oracle = BarAggregator(["15m"])
    for index, bar in enumerate(bars):
        made_at.update({(made.symbol, made.open_time_ms): index for made in oracle.add(bar) if made.timeframe == "15m"})
        probe.at_input = index
        runtime.publish_bar(bar)
    assert len(probe.shown) == 2 * len({(bar.symbol, bar.open_time_ms) for bar, *_ in probe.shown})
    for decided, at_input, symbol, opens in probe.shown:
        cutoff_ms = decided.close_time_ms + 1 if symbol == decided.symbol else decided.open_time_ms
        newest = cutoff_ms - cutoff_ms % FIFTEEN - FIFTEEN
        wanted = [newest - FIFTEEN, newest]
        there = all(made_at.get((symbol, open_ms), len(bars)) <= at_input for open_ms in wanted)
        assert opens == (wanted if there else None)
        assert all(open_ms + FIFTEEN <= cutoff_ms for open_ms in opens or ())  # never closing after the cut-off
