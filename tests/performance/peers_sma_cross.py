"""The sma_cross of `stds replay` in vectorbt and nautilus_trader, for `make bench-peers`.

Runs in its own environment (.cache/peers, made by `make bench-peers`), never the project's: it
imports neither stds nor its dependencies. Reads the CSVs given, runs long/flat SMA(fast) > SMA(slow)
with `qty` base units for every parameter set of `--sets` in both engines, and prints one JSON
document: for each engine, its wall and CPU seconds and each set's trades as [bar open time ms, side,
price]. Like stds, a window never spans a gap in the bars: after one, no decision is made until `slow`
consecutive bars are back, and the position is kept meanwhile. Each set trades as its own account
would with 100,000 USDT, as each item of an stds sweep does.

- vectorbt: one broadcast over the sets (a column each), timed on its first call in this process
  (numba's compiling or loading its cache included) and warm (the best of the repeats after it);
- nautilus_trader: one BacktestEngine with a strategy for each set, and, with `--nautilus-each`, one
  engine per set in a row; only `BacktestEngine.run()` is timed, on the first `--nautilus-bars` bars.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MINUTE_NS = 60_000_000_000
CASH = 100_000  # USDT, each set's own

Sets = list[tuple[int, int]]
Trades = list[list[Any]]
# what an engine runs: the part that is timed, and what lists each set's trades from its result, untimed
Run = tuple[Callable[[], Any], Callable[[Any], list[Trades]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--sets", required=True, help="FAST:SLOW,FAST:SLOW,... the parameter sets")
    parser.add_argument("--qty", default="0.01")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--bars", type=int, help="only the first N bars")
    parser.add_argument("--nautilus-bars", type=int, help="nautilus_trader on only the first N of those bars")
    parser.add_argument("--nautilus-each", action="store_true", help="also one nautilus engine per set, in a row")
    args = parser.parse_args()
    sets = [(int(fast), int(slow)) for fast, slow in (pair.split(":") for pair in args.sets.split(","))]
    bars = _bars(args.csv).iloc[: args.bars]
    prefix = bars.iloc[: args.nautilus_bars]
    first, *warm = [_timed(lambda: _vectorbt(bars, sets, args.qty)) for _ in range(args.repeat + 1)]
    results: dict[str, Any] = {
        "bars": len(bars),
        "vectorbt": {"first": first[:2], "warm": min(run[:2] for run in warm), "trades": first[2]},
        "nautilus_trader": _best(args.repeat, lambda: _nautilus(prefix, sets, args.qty)) | {"bars": len(prefix)},
    }
    if args.nautilus_each:
        each = _best(args.repeat, lambda: _nautilus_each(prefix, sets, args.qty))
        results["nautilus_each"] = each | {"bars": len(prefix)}
    json.dump(results, sys.stdout)


def _bars(paths: list[Path]) -> pd.DataFrame:
    frames = [
        pd.read_csv(path, dtype={"open": str, "high": str, "low": str, "close": str, "volume": str}) for path in paths
    ]
    bars = pd.concat(frames).assign(timestamp=lambda f: pd.to_datetime(f["timestamp"], utc=True))
    bars = bars.sort_values("timestamp").drop_duplicates("timestamp").set_index("timestamp")
    # bars since the last gap: a window of `slow` bars is whole once this reaches slow - 1
    step = bars.index.to_series().diff().ne(pd.Timedelta(minutes=1))
    bars["since_gap"] = step.groupby(step.cumsum()).cumcount().to_numpy()
    return bars


def _timed(run: Callable[[], Run]) -> tuple[float, float, list[Trades]]:
    """(wall s, CPU s, each set's trades) of one run."""
    timed, trades_of = run()
    wall, cpu = time.perf_counter(), time.process_time()
    result = timed()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, trades_of(result)


def _best(repeat: int, run: Callable[[], Run]) -> dict[str, Any]:
    runs = [_timed(run) for _ in range(repeat)]
    wall, cpu, trades = min(runs, key=lambda run: run[0])
    return {"seconds": wall, "cpu": cpu, "trades": trades}


def _vectorbt(bars: pd.DataFrame, sets: Sets, qty: str) -> Run:
    import vectorbt as vbt

    # prices in cents: whole numbers, so rolling sums are exact in float64 and the comparison is exact
    cents = bars["close"].map(lambda text: int(Decimal(text) * 100)).astype(np.float64)
    close = bars["close"].astype(np.float64)
    since_gap = bars["since_gap"].to_numpy()

    def run() -> Any:
        shape = len(bars), len(sets)  # a column for each set, also when there is one (vectorbt gives a Series)
        fast_ma = vbt.MA.run(cents, [fast for fast, _ in sets]).ma.to_numpy().reshape(shape)
        slow_ma = vbt.MA.run(cents, [slow for _, slow in sets]).ma.to_numpy().reshape(shape)
        decided = since_gap[:, None] >= np.array([slow - 1 for _, slow in sets])[None, :]
        above = fast_ma > slow_ma
        portfolio = vbt.Portfolio.from_signals(
            close,
            entries=pd.DataFrame(decided & above, index=bars.index),
            exits=pd.DataFrame(decided & ~above, index=bars.index),
            size=float(qty),
            fees=0.001,
            init_cash=CASH,  # each column its own cash, as each item of a sweep has its own sub-account
            freq="1min",
        )
        return portfolio.orders.values  # the order records: column, bar index, price, side (0 buy, 1 sell)

    def trades_of(records: Any) -> list[Trades]:
        open_ms = bars.index.asi8 // 1_000_000
        trades: list[Trades] = [[] for _ in sets]
        for record in records:
            side = "buy" if record["side"] == 0 else "sell"
            trades[record["col"]].append([int(open_ms[record["idx"]]), side, round(float(record["price"]), 2)])
        return trades

    return run, trades_of


def _nautilus(bars: pd.DataFrame, sets: Sets, qty: str) -> Run:
    """One engine, a strategy for each set, the account holding every set's cash."""
    engine, strategies = _nautilus_engine(bars, sets, qty)

    def run() -> None:
        engine.run()

    def trades_of(_: None) -> list[Trades]:
        trades = [strategy.fills for strategy in strategies]
        engine.dispose()
        return trades

    return run, trades_of


def _nautilus_each(bars: pd.DataFrame, sets: Sets, qty: str) -> Run:
    """One engine per set, run in a row (each built beforehand: only the runs are timed)."""
    engines = [_nautilus_engine(bars, [one], qty) for one in sets]

    def run() -> None:
        for engine, _ in engines:
            engine.run()

    def trades_of(_: None) -> list[Trades]:
        trades = [strategies[0].fills for _, strategies in engines]
        for engine, _ in engines:
            engine.dispose()
        return trades

    return run, trades_of


def _nautilus_engine(bars: pd.DataFrame, sets: Sets, qty: str) -> tuple[Any, list[Any]]:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.indicators import SimpleMovingAverage
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.events import OrderFilled
    from nautilus_trader.model.identifiers import InstrumentId, Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    instrument = TestInstrumentProvider.btcusdt_binance()

    class SmaCrossConfig(StrategyConfig, frozen=True):
        instrument_id: InstrumentId
        bar_type: BarType
        fast: int
        slow: int
        qty: str

    class SmaCross(Strategy):
        def __init__(self, config: SmaCrossConfig) -> None:
            super().__init__(config)
            self.fast = SimpleMovingAverage(config.fast)
            self.slow = SimpleMovingAverage(config.slow)
            self.qty = instrument.make_qty(Decimal(config.qty))  # at the instrument's size precision
            self.long = False
            self.last_ts = 0
            self.fills: Trades = []

        def on_start(self) -> None:
            self.subscribe_bars(self.config.bar_type)

        def on_bar(self, bar: Bar) -> None:
            if self.last_ts and bar.ts_event - self.last_ts != MINUTE_NS:
                self.fast.reset()  # a gap: no window spans it
                self.slow.reset()
            self.last_ts = bar.ts_event
            close = bar.close.as_double()
            self.fast.update_raw(close)
            self.slow.update_raw(close)
            if not self.slow.initialized:
                return
            # in cents, as whole numbers: fast_sum / fast > slow_sum / slow, exactly
            above = round(self.fast.value * self.fast.period * 100) * self.slow.period > (
                round(self.slow.value * self.slow.period * 100) * self.fast.period
            )
            if above and not self.long:
                self.submit_order(self.order_factory.market(self.config.instrument_id, OrderSide.BUY, self.qty))
                self.long = True
            elif not above and self.long:
                self.submit_order(self.order_factory.market(self.config.instrument_id, OrderSide.SELL, self.qty))
                self.long = False

        def on_order_filled(self, event: OrderFilled) -> None:
            self.fills.append(
                [
                    int((event.ts_event - MINUTE_NS) // 1_000_000),  # the bar's open time
                    "buy" if event.order_side == OrderSide.BUY else "sell",
                    round(event.last_px.as_double(), 2),
                ]
            )

    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    frame = bars[["open", "high", "low", "close", "volume"]].astype(np.float64)
    frame.index = frame.index + pd.Timedelta(minutes=1)  # a bar's event time is its close
    data = BarDataWrangler(bar_type, instrument).process(frame)
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=None,
        starting_balances=[Money(CASH * len(sets), USDT), Money(0, instrument.base_currency)],
    )  # fmt: skip
    engine.add_instrument(instrument)
    engine.add_data(data)
    strategies = [
        SmaCross(
            SmaCrossConfig(
                instrument_id=instrument.id, bar_type=bar_type, fast=fast, slow=slow, qty=qty, order_id_tag=str(n)
            )
        )
        for n, (fast, slow) in enumerate(sets)
    ]
    for strategy in strategies:
        engine.add_strategy(strategy)
    return engine, strategies


if __name__ == "__main__":
    main()
