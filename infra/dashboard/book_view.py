"""Per sub-account numbers (target, position, pending, cash, realised and unrealised PnL, fees) and the
newest fills, rejects and target changes, from the book as any store holds it. Money stays Decimal."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from consumers.ledger.account import AccountLedger, RoundTrip
from consumers.ledger.statistics import trade_statistics
from consumers.stores.ports import Account, AccountKey, OrderRecord
from events.models import OrderFilled, OrderRejected
from events.streams import StreamKey
from infra.dashboard.source import Fill, StreamSpan
from infra.report.colours import strategy_colours

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountPnl:
    starting_cash: Decimal
    realised: Decimal  # closed lots (FIFO) minus every fee paid
    unrealised: Decimal  # the open lots against their entry prices
    total: Decimal  # cash + position × mark − starting cash
    last_close: Decimal | None
    round_trips: int


def fills_by_account(fills: list[Fill]) -> dict[AccountKey, list[Fill]]:
    """Each sub-account's fills, in the order given (bar order)."""
    grouped: dict[AccountKey, list[Fill]] = defaultdict(list)
    for fill in fills:  # a plain tuple key: it hashes and compares like the AccountKey it is looked up with
        grouped[(fill.strategy, fill.exchange, fill.symbol)].append(fill)  # type: ignore[index]
    return grouped


def account_pnl(account: Account, fills: list[Fill], last_close: Decimal | None) -> AccountPnl:
    """The portfolio ledger of the sub-account's fills, marked at the last close (or, before any bar, at the last
    fill's price)."""
    ledger = _ledger(account, fills)
    starting_cash = ledger.starting_cash
    mark = last_close if last_close is not None else (fills[-1].price if fills else ZERO)
    return AccountPnl(
        starting_cash, ledger.realised, ledger.unrealised(mark), ledger.pnl(mark), last_close, len(ledger.round_trips)
    )


def trip_statistics(accounts: list[Account], fills: dict[AccountKey, list[Fill]]) -> dict[str, Any]:
    """The round-trip statistics of `stds replay`'s summary (overall, per pair, day and week) for the page."""
    return trade_statistics(round_trips(accounts, fills))


def round_trips(accounts: list[Account], fills: dict[AccountKey, list[Fill]]) -> list[RoundTrip]:
    """Every sub-account's round trips, from its ledger."""
    return [trip for account in accounts for trip in _ledger(account, fills.get(account.key, [])).round_trips]


def _ledger(account: Account, fills: list[Fill]) -> AccountLedger:
    """The sub-account's ledger. The state keeps no starting cash: it is the cash now less what the fills did."""
    starting_cash = account.cash - sum((fill.cash_change for fill in fills), ZERO)
    ledger = AccountLedger(*account.key, starting_cash=starting_cash)
    for fill in fills:
        ledger.apply(fill)
    return ledger


def account_rows(
    accounts: list[Account], fills: dict[AccountKey, list[Fill]], streams: dict[StreamKey, StreamSpan]
) -> list[dict[str, Any]]:
    """One row per sub-account, decimals as strings (exact; the page rounds them for display)."""
    closes = {(stream.exchange, stream.symbol): span.last_close for stream, span in streams.items()}
    rows = []
    for account in sorted(accounts, key=lambda a: a.key):
        key = account.key
        pnl = account_pnl(account, fills.get(key, []), closes.get((key.exchange, key.symbol)))
        rows.append(
            {
                "strategy": key.strategy,
                "exchange": key.exchange,
                "symbol": key.symbol,
                "target": str(account.target),
                "position": str(account.position),
                "pending": str(account.pending),
                "cash": str(account.cash),
                "starting_cash": str(pnl.starting_cash),
                "realised": str(pnl.realised),
                "unrealised": str(pnl.unrealised),
                "pnl": str(pnl.total),
                "fees": str(account.fees),
                "trades": account.fills,
                "round_trips": pnl.round_trips,
                "rejects": account.rejects,
                "last_close": None if pnl.last_close is None else str(pnl.last_close),
            }
        )
    return rows


def strategy_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per strategy, its sub-accounts added up; return on the cash it started with (side by side, not one sum)."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row["strategy"], {"strategy": row["strategy"], "symbols": 0, "start": ZERO, "pnl": ZERO, "fees": ZERO}
        )
        total["symbols"] += 1
        total["start"] += Decimal(row["starting_cash"])
        total["pnl"] += Decimal(row["pnl"])
        total["fees"] += Decimal(row["fees"])
        total["trades"] = total.get("trades", 0) + row["trades"]
    colours = strategy_colours(totals)
    return [
        {
            "strategy": name,
            "colour": colours[name],  # chart.png's colour for it
            "symbols": total["symbols"],
            "trades": total["trades"],
            "pnl": str(total["pnl"]),
            "fees": str(total["fees"]),
            "return_pct": round(float(total["pnl"] / total["start"] * 100), 4) if total["start"] else 0.0,
        }
        for name, total in sorted(totals.items())
    ]


def activity(latest: list[OrderRecord], rejected: list[OrderRecord], limit: int) -> dict[str, list[dict[str, Any]]]:
    """The newest fills, rejects (with their reasons) and target changes, newest first, from the orders written
    last and the last rejected ones.

    Target changes are read from the orders they caused: the state keeps each order's target, not every
    TargetChanged event, so a target change that needed no order is not listed."""
    newest = sorted({r.request.order_id: r for r in latest + rejected}.values(), key=_bar_time, reverse=True)
    fills: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for record in newest:
        request, settlement = record.request, record.settlement
        common = {
            "time_ms": request.bar_open_time_ms,
            "strategy": request.strategy,
            "symbol": request.symbol,
            "side": request.side,
            "qty": str(request.qty),
        }
        if len(targets) < limit:
            targets.append({**common, "target": str(request.target), "status": _status(record)})
        if isinstance(settlement, OrderFilled) and len(fills) < limit:
            fills.append(
                {**common, "qty": str(settlement.qty), "price": str(settlement.price), "fee": str(settlement.fee)}
            )
        elif isinstance(settlement, OrderRejected) and len(rejects) < limit:
            rejects.append({**common, "reason": settlement.reason})
    return {"fills": fills, "rejects": rejects, "targets": targets}


def _bar_time(record: OrderRecord) -> tuple[int, str]:
    return record.request.bar_open_time_ms, record.request.order_id


def _status(record: OrderRecord) -> str:
    if record.settlement is None:
        return "pending"
    return "filled" if isinstance(record.settlement, OrderFilled) else "rejected"
