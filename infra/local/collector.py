"""Collects what a run's report needs (closes, fills, rejects) by subscribing to the bus like any consumer."""

from __future__ import annotations

from decimal import Decimal

from events.local_bus import LocalBus
from events.models import BarClosed, Event, OrderFilled, OrderRejected
from events.timeframes import timeframe_ms
from infra.report.finished_run import FinishedRun


class RunCollector:
    def __init__(self, bus: LocalBus, earlier_closes: dict[tuple[str, str], list[tuple[int, Decimal]]] | None = None):
        """`earlier_closes`: the bars a resumed live run saw before its restart, so its book is marked over its
        whole life."""
        self.closes = {market: list(series) for market, series in (earlier_closes or {}).items()}
        self.fills: dict[str, OrderFilled] = {}
        self.rejects: dict[str, OrderRejected] = {}
        self.timeframes: set[str] = set()
        bus.subscribe_detail("report-bars", {"detail-type": ["BarClosed"]}, self._on_bar)
        bus.subscribe_detail("report-orders", {"detail-type": ["OrderFilled", "OrderRejected"]}, self._on_settlement)

    def _on_bar(self, bar: BarClosed) -> list[Event]:
        self.timeframes.add(bar.timeframe)
        series = self.closes.setdefault((bar.exchange, bar.symbol), [])
        if not series or bar.open_time_ms > series[-1][0]:  # duplicates and late bars add nothing
            series.append((bar.open_time_ms, bar.close))
        return []

    def _on_settlement(self, event: Event) -> list[Event]:
        if isinstance(event, OrderFilled):
            self.fills.setdefault(event.order_id, event)
        elif isinstance(event, OrderRejected):
            self.rejects.setdefault(event.order_id, event)
        return []

    def finish(
        self,
        *,
        starting_cash: Decimal,
        accounts: list[tuple[str, str, str]],
        elapsed_s: float,
        dead_letters: int,
        gaps: int,
        earlier_fills: list[OrderFilled] | None = None,
        warnings: list[str] | None = None,
    ) -> FinishedRun:
        """`earlier_fills` are fills a resumed run found already settled in its state."""
        fills = {fill.order_id: fill for fill in earlier_fills or []} | self.fills
        return FinishedRun(
            starting_cash=starting_cash,
            accounts=accounts,
            closes=self.closes,
            fills=sorted(fills.values(), key=lambda fill: (fill.bar_open_time_ms, fill.strategy, fill.symbol)),
            rejects=list(self.rejects.values()),
            bars=sum(map(len, self.closes.values())),
            elapsed_s=elapsed_s,
            dead_letters=dead_letters,
            gaps=gaps,
            timeframe=min(self.timeframes, key=timeframe_ms, default="1m"),  # the finest the equity is marked at
            warnings=warnings or [],
        )
