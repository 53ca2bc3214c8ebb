"""The sma_cross of `stds replay` in vectorbt and nautilus_trader, for `make bench-peers`.

Runs in its own environment (.cache/peers, made by `make bench-peers`), never the project's: it
imports neither stds nor its dependencies. Reads the CSVs given, runs long/flat SMA(fast) > SMA(slow)
with `qty` base units in both engines, and prints one JSON document: each engine's bars/s and trades
as [bar open time ms, side, price]. Like stds, a window never spans a gap in the bars: after one, no
decision is made until `slow` consecutive bars are back, and the position is kept meanwhile.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MINUTE_NS = 60_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--qty", default="0.01")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bars = _bars(args.csv)
    results = {
        "bars": len(bars),
        "vectorbt": _best(args.repeat, lambda: _vectorbt(bars, args.fast, args.slow, args.qty)),
        "nautilus_trader": _best(args.repeat, lambda: _nautilus(bars, args.fast, args.slow, args.qty)),
    }
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


def _best(repeat: int, run: Any) -> dict[str, Any]:
    timings, trades = [], []
    for _ in range(repeat):
        seconds, trades = run()
        timings.append(seconds)
    return {"seconds": min(timings), "trades": trades}


def _vectorbt(bars: pd.DataFrame, fast: int, slow: int, qty: str) -> tuple[float, list[list[Any]]]:
    import vectorbt as vbt

    # prices in cents: whole numbers, so rolling sums are exact in float64 and the comparison is exact
    cents = bars["close"].map(lambda text: int(Decimal(text) * 100)).astype(np.float64)
    started = time.perf_counter()
    fast_ma = vbt.MA.run(cents, fast).ma
    slow_ma = vbt.MA.run(cents, slow).ma
    decided = bars["since_gap"] >= slow - 1
    above = fast_ma > slow_ma
    portfolio = vbt.Portfolio.from_signals(
        bars["close"].astype(np.float64),
        entries=decided & above,
        exits=decided & ~above,
        size=float(qty),
        fees=0.001,
        init_cash=100_000,
        freq="1min",
    )
    orders = portfolio.orders.records_readable
    seconds = time.perf_counter() - started
    trades = [
        [int(row["Timestamp"].value // 1_000_000), row["Side"].lower(), round(float(row["Price"]), 2)]
        for _, row in orders.iterrows()
    ]
    return seconds, trades


def _nautilus(bars: pd.DataFrame, fast: int, slow: int, qty: str) -> tuple[float, list[list[Any]]]:
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
            self.fills: list[list[Any]] = []

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
        starting_balances=[Money(100_000, USDT), Money(0, instrument.base_currency)],
    )  # fmt: skip
    engine.add_instrument(instrument)
    engine.add_data(data)
    strategy = SmaCross(SmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type, fast=fast, slow=slow, qty=qty))
    engine.add_strategy(strategy)
    started = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - started
    trades = strategy.fills
    engine.dispose()
    return seconds, trades


if __name__ == "__main__":
    main()
