"""Which bars the streamer sends together: a minute once complete or waited out, never a stream reordered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events.models import BarClosed
from producers.streamer.minute_gathering import MinuteGathering
from tests.conftest import spot_day_bars

BTC = spot_day_bars(limit=8)
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
WAIT_S = 2.0


def of(symbol: str, minute: int) -> BarClosed:
    return BTC[minute].model_copy(update={"symbol": symbol})


def sent(gathering: MinuteGathering, now: float, *, hurry: bool = False) -> list[list[tuple[str, int]]]:
    """What goes out at `now`: per batch, its (symbol, minute index) rows."""
    return [
        [(bar.symbol, (bar.open_time_ms - BTC[0].open_time_ms) // 60_000) for bar in gathering.take(key)[1]]
        for key in gathering.due(now, hurry=hurry)
    ]


def test_a_minute_goes_out_as_soon_as_every_symbol_closed_it() -> None:
    gathering = MinuteGathering(SYMBOLS, WAIT_S)
    gathering.add(of("BTC/USDT", 0), now=0.0)
    gathering.add(of("ETH/USDT", 0), now=0.1)
    assert gathering.due(0.2) == []
    gathering.add(of("SOL/USDT", 0), now=0.3)
    assert sent(gathering, 0.3) == [[("BTC/USDT", 0), ("ETH/USDT", 0), ("SOL/USDT", 0)]]
    assert gathering.next_deadline() is None


def test_an_incomplete_minute_waits_its_time_then_its_late_bar_follows_alone_without_waiting() -> None:
    gathering = MinuteGathering(SYMBOLS, WAIT_S)
    gathering.add(of("BTC/USDT", 0), now=10.0)
    gathering.add(of("ETH/USDT", 0), now=10.5)
    assert gathering.due(11.99) == [] and gathering.next_deadline() == 12.0
    assert sent(gathering, 12.0) == [[("BTC/USDT", 0), ("ETH/USDT", 0)]]
    gathering.add(of("SOL/USDT", 0), now=30.0)  # the missing one, backfilled after a reconnect: completes it
    assert sent(gathering, 30.0) == [[("SOL/USDT", 0)]]


def test_a_due_minute_takes_every_earlier_minute_with_it_oldest_first() -> None:
    gathering = MinuteGathering(SYMBOLS, WAIT_S)
    gathering.add(of("BTC/USDT", 0), now=0.0)  # minute 0 waits for ETH and SOL
    for symbol in SYMBOLS:
        gathering.add(of(symbol, 1), now=0.5)  # minute 1 is complete
    assert sent(gathering, 0.5) == [[("BTC/USDT", 0)], [(s, 1) for s in SYMBOLS]]


def test_hurry_sends_everything_gathering() -> None:
    gathering = MinuteGathering(SYMBOLS, WAIT_S)
    gathering.add(of("BTC/USDT", 3), now=0.0)
    gathering.add(of("ETH/USDT", 2), now=0.0)
    assert sent(gathering, 0.0, hurry=True) == [[("ETH/USDT", 2)], [("BTC/USDT", 3)]]


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[float, str, int]]:
    """Each symbol's bars in order (some minutes missing: a quiet market), the streams interleaved at random
    times, as a reconnecting websocket and its REST backfill deliver them."""
    streams = {symbol: [m for m in range(len(BTC)) if draw(st.booleans()) or m == 0] for symbol in SYMBOLS}
    moments: list[tuple[float, str, int]] = []
    for symbol, minutes in streams.items():
        at = 0.0
        for minute in minutes:
            at += draw(st.sampled_from([0.0, 0.01, 0.5, 1.9, 2.0, 2.5, 10.0]))
            moments.append((at, symbol, minute))
    return sorted(moments, key=lambda moment: moment[0])


@settings(max_examples=300, deadline=None)
@given(moments=arrivals(), checks=st.lists(st.floats(0, 40), max_size=10))
def test_every_bar_goes_out_once_in_order_per_stream_and_nothing_outstays_its_wait(
    moments: list[tuple[float, str, int]], checks: list[float]
) -> None:
    gathering = MinuteGathering(SYMBOLS, WAIT_S)
    out: list[list[tuple[str, int]]] = []
    steps = [(at, (symbol, minute)) for at, symbol, minute in moments] + [(at, None) for at in checks]
    steps.sort(key=lambda step: step[0])
    for now, arrival in steps:
        if arrival is not None:
            gathering.add(of(*arrival), now)
        out.extend(sent(gathering, now))
        deadline = gathering.next_deadline()
        assert deadline is None or deadline > now  # whatever is left is still within its wait
    out.extend(sent(gathering, 1e9, hurry=True))
    flat = [row for batch in out for row in batch]
    assert sorted(flat) == sorted((symbol, minute) for _, symbol, minute in moments)  # each bar once
    assert all(len({minute for _, minute in batch}) == 1 for batch in out)  # one open time per batch
    for symbol in SYMBOLS:
        minutes = [minute for s, minute in flat if s == symbol]
        assert minutes == sorted(minutes)  # a stream's bars in order
