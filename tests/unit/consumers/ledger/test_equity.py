"""The equity curve held as columns is exactly the book marked bar by bar: same times, same Decimals (exponents
included) for the whole book and for each strategy, over random fills on several markets and strategies. A fill
counts from the first bar time at or after its own (fills a resumed run settled before its first bar count)."""

from __future__ import annotations

import csv
import heapq
import io
import math
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.ledger.equity import EquityCurve, Timeline, equity_curve
from events.models import OrderFilled
from infra.report.equity import write_equity_csv
from infra.report.finished_run import FinishedRun

MINUTE = 60_000
ZERO = Decimal(0)
MARKETS = [("binance", "BTC/USDT"), ("binance", "ETH/USDT"), ("kraken", "BTC/USDT")]
STRATEGIES = ["sma", "donchian", "rsi"]

Marked = tuple[int, Decimal, dict[str, Decimal]]


def marked_bar_by_bar(record: FinishedRun) -> list[Marked]:
    """The straightforward curve: at each bar time, the closes of that time taken, every fill up to that time
    applied, then every account's cash + position × its market's last close, added up per strategy, then the
    strategies added up."""
    cash = dict.fromkeys(record.accounts, record.starting_cash)
    position = dict.fromkeys(record.accounts, ZERO)
    for fill in record.fills:
        cash.setdefault((fill.strategy, fill.exchange, fill.symbol), record.starting_cash)
        position.setdefault((fill.strategy, fill.exchange, fill.symbol), ZERO)
    waiting = sorted(record.fills, key=lambda fill: fill.bar_open_time_ms)
    last_close: dict[tuple[str, str], Decimal] = {}
    merged: Iterable[tuple[int, tuple[str, str], Decimal]] = heapq.merge(
        *[[(time_ms, market, close) for time_ms, close in closes] for market, closes in record.closes.items()]
    )
    by_time: dict[int, list[tuple[tuple[str, str], Decimal]]] = defaultdict(list)
    for time_ms, market, close in merged:
        by_time[time_ms].append((market, close))
    points: list[Marked] = []
    for time_ms, bars in by_time.items():
        last_close.update(bars)
        while waiting and waiting[0].bar_open_time_ms <= time_ms:
            fill = waiting.pop(0)
            account = (fill.strategy, fill.exchange, fill.symbol)
            cash[account] += fill.cash_change
            position[account] += fill.position_change
        points.append(_mark(time_ms, cash, position, last_close))
    return points


def _mark(
    time_ms: int,
    cash: dict[tuple[str, str, str], Decimal],
    position: dict[tuple[str, str, str], Decimal],
    last_close: dict[tuple[str, str], Decimal],
) -> Marked:
    by_strategy: dict[str, Decimal] = {}
    for account, account_cash in cash.items():
        value = account_cash + position[account] * last_close.get((account[1], account[2]), ZERO)
        by_strategy[account[0]] = by_strategy.get(account[0], ZERO) + value
    return time_ms, sum(by_strategy.values(), ZERO), by_strategy


def curve_of(record: FinishedRun) -> EquityCurve:
    return equity_curve(record.starting_cash_by_account(), Timeline.of(record.closes), record.fills)


def exactly(curve: EquityCurve) -> list[tuple[int, str, dict[str, str]]]:
    """Each point with its Decimals as text, so that 100 and 1E+2 differ."""
    return [
        (time_ms, repr(curve.equity[index]), {name: repr(values[index]) for name, values in curve.by_strategy.items()})
        for index, time_ms in enumerate(curve.times_ms)
    ]


def exactly_marked(points: list[Marked]) -> list[tuple[int, str, dict[str, str]]]:
    return [
        (time_ms, repr(equity), {name: repr(value) for name, value in by.items()}) for time_ms, equity, by in points
    ]


# exponents from 1E+2 to 20 places, zeros with exponents, and values long enough to round at 28 digits
amounts = st.sampled_from(
    [Decimal("1E+2"), Decimal("100"), Decimal("0.10"), Decimal("0E-8"), Decimal("84000.12000000"), Decimal("3")]
) | st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**6), allow_nan=False, places=8)
long_amounts = st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10**9), allow_nan=False, places=20)


@st.composite
def records(draw: st.DrawFn) -> FinishedRun:
    markets = draw(st.lists(st.sampled_from(MARKETS), min_size=1, max_size=3, unique=True))
    closes = {
        market: [
            (minute * MINUTE, draw(amounts | long_amounts))
            for minute in sorted(draw(st.sets(st.integers(0, 12), max_size=10)))
        ]
        for market in markets
    }
    strategies = draw(st.lists(st.sampled_from(STRATEGIES), min_size=1, max_size=3, unique=True))
    # listed accounts may repeat, and fills may come on accounts not listed, on markets without bars, or at
    # times their market has no bar (those count from the next bar time)
    accounts = draw(st.lists(st.tuples(st.sampled_from(strategies), st.sampled_from(MARKETS)), max_size=5))
    fills = [
        OrderFilled(
            order_id=f"o{number}",
            strategy=draw(st.sampled_from(strategies)),
            exchange=(market := draw(st.sampled_from(MARKETS)))[0],
            symbol=market[1],
            side=draw(st.sampled_from(["buy", "sell"])),  # sells beyond the position go short
            qty=draw(amounts.filter(bool)),
            bar_open_time_ms=draw(st.integers(0, 12)) * MINUTE,
            price=draw(amounts.filter(bool)),
            fee=draw(st.sampled_from([ZERO, Decimal("0.001"), Decimal("1E+1")])),
            fee_base=draw(st.sampled_from([ZERO, Decimal("0.00000001")])),
        )
        for number in range(draw(st.integers(0, 12)))
    ]
    return FinishedRun(
        starting_cash=draw(st.sampled_from([Decimal("100000"), Decimal("1E+5"), Decimal("0.00"), Decimal("0")])),
        accounts=[(strategy, *market) for strategy, market in accounts],
        closes=closes,
        fills=sorted(fills, key=lambda fill: fill.bar_open_time_ms) if draw(st.booleans()) else fills,
        rejects=[],
        bars=sum(map(len, closes.values())),
        elapsed_s=1.0,
    )


def assert_the_floats_are_the_curve_to_a_floats_precision(curve: EquityCurve, record: FinishedRun) -> None:
    """What the per-bar returns are taken of: each value within a float's rounding of the exact one, scaled by the
    largest term marked (cash, or position × close, of every account)."""
    accounts = len(record.starting_cash_by_account())
    cash = accounts * abs(record.starting_cash) + sum(abs(fill.cash_change) for fill in record.fills)
    positions = sum(abs(fill.position_change) for fill in record.fills)
    largest_close = max((close for closes in record.closes.values() for _, close in closes), default=ZERO)
    tolerance = 1e-12 * float(cash + positions * largest_close)
    assert all(math.isclose(f, float(e), abs_tol=tolerance) for f, e in zip(curve.floats, curve.equity, strict=True))
    for strategy, values in curve.by_strategy.items():
        floats = curve.floats_by_strategy[strategy]
        assert all(math.isclose(f, float(e), abs_tol=tolerance) for f, e in zip(floats, values, strict=True))


def written_by_csv_writer(points: list[Marked]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["time", "equity"])
    for time_ms, equity, _ in points:
        writer.writerow([datetime.fromtimestamp(time_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), equity])
    return text.getvalue().encode()


@settings(max_examples=300, deadline=None)
@given(records())
def test_the_curve_and_its_csv_are_the_book_marked_bar_by_bar(record: FinishedRun) -> None:
    curve, points = curve_of(record), marked_bar_by_bar(record)
    assert exactly(curve) == exactly_marked(points)
    assert_the_floats_are_the_curve_to_a_floats_precision(curve, record)
    with tempfile.TemporaryDirectory() as folder:
        write_equity_csv(curve, Path(folder) / "equity.csv")
        assert (Path(folder) / "equity.csv").read_bytes() == written_by_csv_writer(points)


def test_a_curve_without_bars_is_empty(tmp_path: Path) -> None:
    record = FinishedRun(Decimal(100), [("sma", "binance", "BTC/USDT")], {}, [], [], 0, 1.0)
    curve = curve_of(record)
    assert (curve.times_ms, curve.equity, curve.by_strategy) == ([], [], {"sma": []})
    write_equity_csv(curve, tmp_path / "equity.csv")
    assert (tmp_path / "equity.csv").read_bytes() == b"time,equity\r\n"


def test_equity_csv_writes_each_decimal_as_it_is(tmp_path: Path) -> None:
    record = FinishedRun(
        Decimal("1E+5"),
        [("sma", "binance", "BTC/USDT")],
        {("binance", "BTC/USDT"): [(0, Decimal("84000.5")), (MINUTE, Decimal("84001.25"))]},
        [],
        [],
        2,
        1.0,
    )
    write_equity_csv(curve_of(record), tmp_path / "equity.csv")
    assert (tmp_path / "equity.csv").read_bytes() == (
        b"time,equity\r\n1970-01-01T00:00:00Z,100000.0\r\n1970-01-01T00:01:00Z,100000.00\r\n"
    )


@st.composite
def round_trips(draw: st.DrawFn) -> FinishedRun:
    """One account that buys and later sells the same quantity, trip after trip, so its position is exactly 0
    between trips (0E-8, 0.00, ...) while its cash carries every fee's decimals: the flat runs a marked curve takes
    as the cash itself when the exponents allow."""
    market = MARKETS[0]
    closes = [(minute * MINUTE, draw(amounts | long_amounts)) for minute in range(draw(st.integers(1, 12)))]
    fills = []
    for number in range(draw(st.integers(0, 4))):
        opened, closed = sorted(draw(st.tuples(st.integers(0, 12), st.integers(0, 12))))
        qty = draw(amounts.filter(bool))
        fee = draw(st.sampled_from([ZERO, Decimal("0.001"), Decimal("0.0000012345678")]))
        for side, minute in (("buy", opened), ("sell", closed)):
            fills.append(
                OrderFilled(
                    order_id=f"{side}{number}",
                    strategy="sma",
                    exchange=market[0],
                    symbol=market[1],
                    side=side,
                    qty=qty,
                    bar_open_time_ms=minute * MINUTE,
                    price=draw(amounts.filter(bool)),
                    fee=fee,
                )
            )
    return FinishedRun(
        starting_cash=draw(st.sampled_from([Decimal("100000"), Decimal("1E+5"), Decimal("0.00"), Decimal("-0")])),
        accounts=[("sma", *market)],
        closes={market: closes},
        fills=sorted(fills, key=lambda fill: fill.bar_open_time_ms),
        rejects=[],
        bars=len(closes),
        elapsed_s=1.0,
    )


@settings(max_examples=300, deadline=None)
@given(round_trips())
def test_flat_runs_between_round_trips_are_the_book_marked_bar_by_bar(record: FinishedRun) -> None:
    curve = curve_of(record)
    assert exactly(curve) == exactly_marked(marked_bar_by_bar(record))
    assert_the_floats_are_the_curve_to_a_floats_precision(curve, record)
