"""A sweep's folder: what it is a sweep of, and each finished item, written so that a kill -9 loses at most the
items in flight. An item is done once its summary file exists; it is renamed into place after its trades."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from infra.report.trades import trades_csv
from infra.research.items import ItemOutcome

DEFINITION = "sweep.json"
ITEMS = "items"


class SweepFolderError(ValueError):
    """The folder holds another sweep's items."""


class SweepStore:
    def __init__(self, folder: Path, basis: dict[str, Any], *, fresh: bool) -> None:
        """`basis` is what decides every item's result besides its parameters and span (bars, strategy line,
        paper broker, risk): a folder made under another basis is refused, or emptied with `fresh`."""
        self.folder = folder
        self.items = folder / ITEMS
        definition = folder / DEFINITION
        encoded = orjson.dumps(basis, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        if definition.exists() and not fresh and definition.read_bytes() != encoded:
            raise SweepFolderError(
                f"{folder} holds a sweep of other bars, strategy line or broker settings: "
                "use another --out, or --fresh to discard its items"
            )
        self.items.mkdir(parents=True, exist_ok=True)
        if fresh:
            for path in self.items.iterdir():
                path.unlink()
        _write_atomically(definition, encoded)

    def done(self, key: str) -> dict[str, Any] | None:
        """A finished item's summary, or None."""
        try:
            summary: dict[str, Any] = orjson.loads((self.items / f"{key}.json").read_bytes())
        except FileNotFoundError:
            return None
        return summary

    def keep(self, outcome: ItemOutcome) -> None:
        """A failed item is not kept: the next run tries it again."""
        if outcome.summary is None:
            return
        trades = self.trades_path(outcome.key)
        partial = trades.with_suffix(".csv.partial")
        partial.write_bytes(outcome.trades_csv if outcome.trades_csv is not None else trades_csv(outcome.fills))
        os.replace(partial, trades)
        _write_atomically(self.items / f"{outcome.key}.json", orjson.dumps(outcome.summary))

    def trades_path(self, key: str) -> Path:
        return self.items / f"{key}.trades.csv"


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)
