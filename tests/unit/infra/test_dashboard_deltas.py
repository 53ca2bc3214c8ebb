"""The live stream's deltas: applied to the version a page holds they give exactly the newest snapshot, for any
change of rows; a page too far behind (or new) gets everything; an unchanged state makes no version."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from infra.dashboard.deltas import HISTORY, KEYED_TABLES, Versions, delta, keyed

names = st.sampled_from(["sma", "donchian", "momentum"])
symbols = st.sampled_from(["BTC/USDT", "ETH/USDT", "ALGO/USDT", "NEAR/USDT"])
amounts = st.integers(-5, 5).map(str)


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    accounts = {
        (strategy, symbol): {"strategy": strategy, "exchange": "binance", "symbol": symbol, "pnl": draw(amounts)}
        for strategy, symbol in draw(st.lists(st.tuples(names, symbols), max_size=8))
    }
    strategies = {row["strategy"] for row in accounts.values()}
    return {
        "now_ms": draw(st.integers(0, 3)),
        "kill_switch": {"engaged": draw(st.booleans())},
        "accounts": sorted(accounts.values(), key=lambda row: (row["strategy"], row["symbol"])),
        "strategies": [{"strategy": name, "pnl": draw(amounts)} for name in sorted(strategies)],
        "streams": [
            {"exchange": "binance", "symbol": symbol, "timeframe": "1m", "last": draw(st.integers(0, 2))}
            for symbol in sorted({row["symbol"] for row in accounts.values()})
        ],
        "activity": {"fills": draw(st.lists(amounts, max_size=3))},
    }


def _applied(held: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """What the page does with a message (dashboard.js `apply`), written out here to check the server's side."""
    if "snapshot" in message:
        return copy.deepcopy(message["snapshot"])
    result = copy.deepcopy(held)
    result.update(message.get("set", {}))
    for table, rows in message.get("rows", {}).items():
        result[table].update(rows)
    for table, keys in message.get("removed", {}).items():
        for key in keys:
            del result[table][key]
    return result


@given(st.lists(snapshots(), min_size=1, max_size=6), st.data())
def test_a_delta_from_any_kept_version_rebuilds_the_newest(history: list[dict[str, Any]], data: st.DataObject) -> None:
    versions = Versions()
    held: dict[int, dict[str, Any]] = {}
    for snapshot in history:
        if versions.add(snapshot):
            held[versions.latest] = keyed(snapshot)
    since = data.draw(st.sampled_from([None, *held]))
    message = versions.message(since)
    if since == versions.latest:
        assert message is None
        return
    assert message is not None and message["version"] == versions.latest
    assert ("snapshot" in message) is (since is None)
    assert _applied(held.get(since, {}), message) == keyed(history[-1])


@given(snapshots(), snapshots())
def test_a_delta_carries_only_what_changed(before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = delta(keyed(before), keyed(after))
    old, new = keyed(before), keyed(after)
    for table in KEYED_TABLES:
        sent = changes.get("rows", {}).get(table, {})
        assert all(old[table].get(key) != row for key, row in sent.items())
        assert set(changes.get("removed", {}).get(table, [])) == set(old[table]) - set(new[table])
    assert all(old[name] != value for name, value in changes.get("set", {}).items())
    assert (changes == {}) is (old == new)


def test_an_unchanged_state_is_no_new_version_and_an_old_page_gets_everything() -> None:
    versions = Versions()
    first = {"now_ms": 0, "accounts": [], "strategies": [], "streams": []}
    assert versions.add(first) and not versions.add(copy.deepcopy(first))
    for n in range(1, HISTORY + 2):
        assert versions.add({**first, "now_ms": n})
    message = versions.message(1)  # version 1 is no longer kept
    assert message is not None and message["snapshot"]["now_ms"] == HISTORY + 1
    row = {"strategy": "sma", "exchange": "binance", "symbol": "BTC/USDT", "pnl": "1"}
    assert versions.add({**first, "now_ms": HISTORY + 1, "accounts": [row]})
    latest = versions.latest
    assert versions.message(latest - 1) == {
        "version": latest,
        "since": latest - 1,
        "rows": {"accounts": {"sma|binance|BTC/USDT": row}},
    }
