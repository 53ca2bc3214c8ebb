"""The strategy consumer's walk to the first decidable bar: bounded per bar whatever the lookback,
and deciding exactly what probing every candidate window decides, whatever order bars arrive in."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.stores.memory import MemoryBarStore
from consumers.strategies.sma_cross import SmaCross
from consumers.strategies.window import Window
from events.models import BarClosed
from events.streams import StreamKey
from tests.conftest import spot_day_bars
from tests.unit.consumers.pipeline import Pipeline

BARS = spot_day_bars(limit=400)


@dataclass
class ProbingBarStore:
    """Only the two methods every store has (as DynamoDB's), counting the windows asked for."""

    memory: MemoryBarStore = field(default_factory=lambda: MemoryBarStore(200))
    windows_asked: int = 0

    def add(self, bar: BarClosed) -> bool:
        return self.memory.add(bar)

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        self.windows_asked += 1
        return self.memory.window(stream, end_open_time_ms, length)


class CountingBarStore(MemoryBarStore):
    def __init__(self, retention_bars: int) -> None:
        super().__init__(retention_bars)
        self.windows_asked = 0

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        self.windows_asked += 1
        return super().window(stream, end_open_time_ms, length)


def test_warm_up_asks_no_more_windows_than_it_decides_whatever_the_lookback() -> None:
    slow = 300
    indexed = CountingBarStore(2 * slow + 100)
    pipeline = Pipeline(SmaCross({"fast": 10, "slow": slow}), bars=indexed)
    pipeline.run_in_order(BARS)
    decided = len(BARS) - slow + 1
    # one window per decision, plus at most two failed looks per bar (this bar's own, the next bar's)
    assert indexed.windows_asked <= decided + 2 * len(BARS)
    probing = ProbingBarStore(MemoryBarStore(2 * slow + 100))
    reference = Pipeline(SmaCross({"fast": 10, "slow": slow}), bars=probing)  # type: ignore[arg-type]
    reference.run_in_order(BARS)
    assert probing.windows_asked > 100 * indexed.windows_asked  # 2 × lookback probes a bar during warm-up
    assert pipeline.outcome() == reference.outcome()


@st.composite
def deliveries(draw: st.DrawFn) -> list[int]:
    """Bar indexes, each 1–2 times, displaced by up to 12 bars, some left out (gaps)."""
    plan: list[tuple[float, int]] = []
    for index in range(120):
        if draw(st.integers(0, 19)) == 0:
            continue
        for _ in range(draw(st.integers(1, 2))):
            plan.append((index + draw(st.floats(0, 12)), index))
    plan.sort()
    return [index for _, index in plan]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=deliveries())
def test_the_indexed_walk_decides_what_probing_decides_in_any_delivery_order(plan: list[int]) -> None:
    strategy = SmaCross({"fast": 3, "slow": 8, "mode": "long_short"})
    indexed = Pipeline(strategy)
    probing = Pipeline(strategy, bars=ProbingBarStore())  # type: ignore[arg-type]
    for index in plan:
        assert indexed.bar(BARS[index]) == probing.bar(BARS[index])
    assert indexed.outcome() == probing.outcome()
