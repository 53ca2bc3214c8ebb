"""What the live stream sends: a snapshot's tables keyed by row, versioned, and from one version to the next only what
changed (rows set, rows removed, other parts replaced whole), so an update at 470 sub-accounts is a few rows."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

# the snapshot's tables, each turned into {row key: row} for the stream, with the fields that name a row
KEYED_TABLES = {
    "accounts": ("strategy", "exchange", "symbol"),
    "strategies": ("strategy",),
    "streams": ("exchange", "symbol", "timeframe"),
}
HISTORY = 32  # versions kept: a page that reconnects within them is sent what it missed, else everything


def keyed(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as the stream carries it: its tables as objects keyed by "field|field|…"."""
    shaped = dict(snapshot)
    for table, fields in KEYED_TABLES.items():
        shaped[table] = {"|".join(str(row[field]) for field in fields): row for row in snapshot[table]}
    return shaped


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What turns `before` into `after` (both keyed): {"set": parts replaced whole, "rows": {table: {key: row}},
    "removed": {table: [key]}}, each present only when not empty."""
    changes: dict[str, Any] = {}
    for name, value in after.items():
        if name in KEYED_TABLES:
            old = before.get(name, {})
            rows = {key: row for key, row in value.items() if old.get(key) != row}
            removed = [key for key in old if key not in value]
            if rows:
                changes.setdefault("rows", {})[name] = rows
            if removed:
                changes.setdefault("removed", {})[name] = removed
        elif before.get(name) != value:
            changes.setdefault("set", {})[name] = value
    return changes


class Versions:
    """The last HISTORY keyed snapshots by version; a message for a page is the whole newest one, or the delta
    from the version it last received (computed once per pair, whoever asks)."""

    def __init__(self) -> None:
        self.latest = 0
        self._snapshots: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._messages: dict[int | None, dict[str, Any]] = {}

    def add(self, snapshot: dict[str, Any]) -> bool:
        """Keep `snapshot` as the next version; False (nothing kept) if it equals the newest."""
        shaped = keyed(snapshot)
        if self._snapshots and self._snapshots[self.latest] == shaped:
            return False
        self.latest += 1
        self._snapshots[self.latest] = shaped
        while len(self._snapshots) > HISTORY:
            self._snapshots.popitem(last=False)
        self._messages = {}
        return True

    def message(self, since: int | None) -> dict[str, Any] | None:
        """The newest version for a page that holds `since` (None: nothing yet); None if it is up to date."""
        if since == self.latest or not self._snapshots:
            return None
        cached = self._messages.get(since)
        if cached is None:
            newest = self._snapshots[self.latest]
            base = self._snapshots.get(since) if since is not None else None
            if base is None:
                cached = {"version": self.latest, "snapshot": newest}
            else:
                cached = {"version": self.latest, "since": since, **delta(base, newest)}
            self._messages[since] = cached
        return cached
