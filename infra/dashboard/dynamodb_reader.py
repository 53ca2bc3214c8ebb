"""The dashboard's reader of a deployment (`--aws`): accounts and orders by scan of its tables, and for charts
the bars the streamer keeps in S3 (one object per hour of an exchange's bars): only the hours holding a
bucket's last bar are read, and an hour that is over is read once."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from consumers.stores.dynamodb import DynamoBook, DynamoKillSwitch, TableNames
from consumers.stores.ports import Account, OrderRecord
from events.models import OrderFilled
from events.streams import StreamKey
from events.timeframes import timeframe_ms
from infra.dashboard.archive_reader import ArchiveReader
from infra.dashboard.source import Closes, Fill, StreamHealth, StreamSpan
from producers.streamer.cursors import DynamoCursorItem

SCAN_REUSE_S = 1.0  # one snapshot reads the orders for several views; they need not be scanned for each


class DynamoReader:
    def __init__(self, client: Any, names: TableNames, bars: ArchiveReader) -> None:
        self.client = client
        self.names = names
        self._bars = bars
        self._book = DynamoBook(client, names, Decimal(0))
        self._kill_switch = DynamoKillSwitch(client, names.control)
        self._cursors = DynamoCursorItem(client, names.control)
        self._scanned: list[OrderRecord] = []
        self._scanned_at = -SCAN_REUSE_S

    @property
    def kill_switch(self) -> DynamoKillSwitch:
        return self._kill_switch

    def accounts(self) -> list[Account]:
        return self._book.accounts()

    def fills(self) -> list[Fill]:
        fills = [Fill.of(r.settlement) for r in self._orders() if isinstance(r.settlement, OrderFilled)]
        return sorted(fills, key=lambda fill: fill.bar_open_time_ms)

    def latest_orders(self, limit: int, settlement: str | None = None) -> list[OrderRecord]:
        """Newest by bar time (DynamoDB keeps no write order)."""
        orders = self._orders()
        if settlement is not None:
            orders = [r for r in orders if type(r.settlement).__name__ == settlement]
        return sorted(orders, key=lambda r: r.request.bar_open_time_ms, reverse=True)[:limit]

    def targets(self, exchange: str, symbol: str) -> list[tuple[str, int, Decimal]]:
        return [
            (r.request.strategy, r.request.bar_open_time_ms, r.request.target)
            for r in self._orders()
            if (r.request.exchange, r.request.symbol) == (exchange, symbol)
        ]

    def _orders(self) -> list[OrderRecord]:
        """One scan per refresh, shared by every view of it (the server asks several times per snapshot)."""
        now = time.monotonic()
        if now - self._scanned_at > SCAN_REUSE_S:
            self._scanned = self._book.orders()
            self._scanned_at = now
        return self._scanned

    def streams(self) -> dict[StreamKey, StreamSpan]:
        """The streams the streamer keeps cursors for, and those the accounts trade (on 1m bars)."""
        keys = {StreamKey(*stream) for stream in self._cursors.load()}
        keys |= {StreamKey(a.key.exchange, a.key.symbol, "1m") for a in self._book.accounts()}
        spans = {}
        for stream in sorted(keys):
            first, last = self._bars.edge(stream, oldest=True), self._bars.edge(stream, oldest=False)
            if first is not None and last is not None:
                spans[stream] = StreamSpan(first.open_time_ms, last.open_time_ms, last.close)
        return spans

    def closes(self, stream: StreamKey, start_ms: int, end_ms: int, bucket_ms: int) -> Closes:
        """Each bucket's last bar; a bucket whose last minute is missing shows the previous close."""
        interval = timeframe_ms(stream.timeframe)
        wanted = []
        bucket_start = start_ms
        while bucket_start <= end_ms:
            wanted.append(min(bucket_start + bucket_ms - interval, end_ms))
            bucket_start += bucket_ms
        found = self._bars.closes(stream, wanted)
        times = sorted(found)
        return Closes(times, [found[t] for t in times])

    def health(self) -> StreamHealth:
        """On AWS the streamer keeps only its cursors in the control table (see README: not its counters)."""
        return StreamHealth()

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return []  # on AWS, dead letters are the SQS dead-letter queues behind each rule

    def live(self) -> bool:
        return True  # the stack trades for as long as it is deployed

    def changed(self) -> bool:
        return True  # DynamoDB cannot say cheaply; the server compares snapshots instead
