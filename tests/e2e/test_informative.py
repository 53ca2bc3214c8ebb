"""Informative bars end to end: `stds replay` of a 5m SMA cross with a 1h trend filter (the example strategy) makes
exactly the trades a hand-computed oracle makes from the same two days of BTC minutes, where the oracle shows each
5m decision the hourly bars closed by its close. The same oracle with look-ahead, or with the hour shifted back one
bar (freqtrade's fix for it), trades differently: the comparison is not blind to the rule."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from infra.cli import main
from tests.conftest import REPO_ROOT, SHARED_DATA

MINUTES = [
    SHARED_DATA / f"binance/spot/freqtrade_json/1m/{day}/BTC_USDT-1m.json" for day in ("2021-05-07", "2021-05-08")
]
EXAMPLE = REPO_ROOT / "examples/strategies/trend_filtered_sma.py"
FAST, SLOW, TREND = 10, 30, 12
LOOKBACK = max(SLOW, TREND)  # the strategy's, and so each informative window's length
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Bar:
    open_ms: int
    length_ms: int
    close: Decimal

    @property
    def end_ms(self) -> int:
        return self.open_ms + self.length_ms


def bars_of(minutes: list[list[Decimal]], minutes_per_bar: int) -> list[Bar]:
    """Whole periods only; the close is the last minute's (BTC has no trade-less minute in these days)."""
    assert all(row[5] > 0 for row in minutes)
    step = minutes_per_bar * MINUTE_MS
    return [
        Bar(int(minutes[i][0]), step, minutes[i + minutes_per_bar - 1][4])
        for i in range(0, len(minutes) - minutes_per_bar + 1, minutes_per_bar)
    ]


def oracle_trades(visible: Callable[[Bar, Bar], bool]) -> list[tuple[str, str, Decimal]]:
    minutes = [row for path in MINUTES for row in json.loads(path.read_text(), parse_float=Decimal)]
    fives, hours = bars_of(minutes, 5), bars_of(minutes, 60)
    target, trades = 0, []
    for i in range(LOOKBACK - 1, len(fives)):
        decided = fives[i]
        closes = [bar.close for bar in fives[i - LOOKBACK + 1 : i + 1]]
        seen = [hour.close for hour in hours if visible(hour, decided)][-LOOKBACK:]
        wanted = 0
        if len(seen) == LOOKBACK and seen[-1] > sum(seen[-TREND:]) / TREND:
            wanted = int(sum(closes[-FAST:]) / FAST > sum(closes[-SLOW:]) / SLOW)
        if wanted != target:
            when = datetime.fromtimestamp(decided.open_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            trades.append((when, "buy" if wanted > target else "sell", decided.close))
            target = wanted
    return trades


def test_a_1h_trend_filter_on_5m_bars_trades_as_the_oracle_that_sees_hours_closed_by_the_decision(
    tmp_path: Path,
) -> None:
    strategies = tmp_path / "strategies.toml"
    strategies.write_text(
        "[strategies]\n"
        f'trend = {{ use = "{EXAMPLE}", symbols = ["BTC/USDT"], timeframe = "5m", informative = ["1h"], '
        f"params = {{ fast = {FAST}, slow = {SLOW}, trend = {TREND} }} }}\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "replay",
                *map(str, MINUTES),
                "--config",
                str(strategies),
                "--no-progress",
                "--no-chart",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with (out / "trades.csv").open() as handle:
        made = [(row["time"], row["side"], Decimal(row["price"])) for row in csv.DictReader(handle)]

    closed_by_its_close = oracle_trades(lambda hour, decided: hour.end_ms <= decided.end_ms)
    assert len(closed_by_its_close) >= 4
    assert made == closed_by_its_close
    assert made != oracle_trades(lambda hour, decided: hour.open_ms <= decided.open_ms)  # the forming hour's bar
    assert made != oracle_trades(lambda hour, decided: hour.end_ms <= decided.open_ms)  # an hour behind at :55
