"""How the book's two records and the kill switch are stored, whatever the store: an account and an order as plain
fields (decimal strings for money, ints for counts and the cursor, JSON for the order events), which SQLite writes
as a row and DynamoDB as an item. Both read back through the same functions, so a field is changed in one place."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import orjson

from consumers.stores.kill_switch_modes import KILL_SWITCH_MODES
from consumers.stores.ports import (
    Account,
    AccountKey,
    KillSwitchState,
    OrderRecord,
    Settlement,
)
from events.codec import detail_from_dict
from events.models import OrderFilled, OrderRejected, OrderRequested

# an account's stored fields, in the SQLite table's column order; DynamoDB leaves out those that are None
ACCOUNT_FIELDS = (
    "strategy",
    "exchange",
    "symbol",
    "cash",
    "position",
    "pending",
    "fees",
    "target",
    "decided_through_ms",
    "fills",
    "rejects",
    "refused_target",
    "fee_assets",
)

Field = str | int | dict[str, str] | None


def account_fields(account: Account) -> dict[str, Field]:
    """The account's stored fields in `ACCOUNT_FIELDS` order: money as decimal strings, None for what is unset
    (no cursor yet, no refused target, no third-asset fee paid)."""
    key = account.key
    return {
        "strategy": key.strategy,
        "exchange": key.exchange,
        "symbol": key.symbol,
        "cash": str(account.cash),
        "position": str(account.position),
        "pending": str(account.pending),
        "fees": str(account.fees),
        "target": str(account.target),
        "decided_through_ms": account.decided_through_ms,
        "fills": account.fills,
        "rejects": account.rejects,
        "refused_target": None if account.refused_target is None else str(account.refused_target),
        "fee_assets": {asset: str(paid) for asset, paid in account.fee_assets.items()} or None,
    }


def account_from_fields(fields: Mapping[str, object]) -> Account:
    """The account from its stored fields; a field missing (a record from before it existed) is unset."""
    cursor, refused = fields.get("decided_through_ms"), fields.get("refused_target")
    fee_assets = fields.get("fee_assets") or {}
    assert isinstance(fee_assets, dict), fee_assets
    return Account(
        AccountKey(str(fields["strategy"]), str(fields["exchange"]), str(fields["symbol"])),
        cash=Decimal(str(fields["cash"])),
        position=Decimal(str(fields["position"])),
        pending=Decimal(str(fields["pending"])),
        fees=Decimal(str(fields["fees"])),
        target=Decimal(str(fields["target"])),
        decided_through_ms=None if cursor is None else int(str(cursor)),
        fills=int(str(fields["fills"])),
        rejects=int(str(fields["rejects"])),
        refused_target=None if refused is None else Decimal(str(refused)),
        fee_assets={str(asset): Decimal(str(paid)) for asset, paid in fee_assets.items()},
    )


def request_field(order: OrderRequested) -> str:
    return order.model_dump_json()


def settlement_fields(settlement: Settlement) -> tuple[str, str]:
    """(settlement_type, settlement): the event's class name and its JSON."""
    return type(settlement).__name__, settlement.model_dump_json()


def order_fields(record: OrderRecord) -> tuple[str, str, str | None, str | None]:
    """(order_id, request, settlement_type, settlement), the last two None until the order is settled."""
    settled = settlement_fields(record.settlement) if record.settlement is not None else (None, None)
    return (record.request.order_id, request_field(record.request), *settled)


def order_from_fields(request: str, settlement: tuple[str, str] | None, origin: str) -> OrderRecord:
    """The order from its stored request and, once settled, its (settlement_type, settlement); `origin` (the
    store and order id) names it in a decoding error."""
    settled: Settlement | None = None
    if settlement is not None:
        event = detail_from_dict(settlement[0], orjson.loads(settlement[1]), origin)
        assert isinstance(event, OrderFilled | OrderRejected)
        settled = event
    return OrderRecord(OrderRequested.model_validate_json(request), settled)


def kill_switch_fields(state: KillSwitchState) -> dict[str, str]:
    """The engaged switch as stored: SQLite keeps this as one JSON value, DynamoDB as the item's attributes."""
    return {"mode": state.mode, "reason": state.reason, "engagement": state.engagement}


def kill_switch_from_fields(fields: Mapping[str, str]) -> KillSwitchState:
    """A switch saved before it had modes holds only its reason, and stopped everything: it reads as `halt`."""
    mode = fields.get("mode", "halt")
    if mode not in KILL_SWITCH_MODES:
        raise ValueError(f"kill switch mode {mode!r} in the state is none of {', '.join(KILL_SWITCH_MODES)}")
    return KillSwitchState(mode, fields.get("reason", "engaged"), fields.get("engagement", ""))
