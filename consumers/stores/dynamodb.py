"""DynamoDB stores: the same ports as SQLite, safe under concurrent Lambdas.

One table per kind of item (see `TABLES`), so each function's IAM policy names only the tables it
uses, and an account's partition key starts with its strategy, so a strategy's role can be limited
to its own holdings with `dynamodb:LeadingKeys`. A decision or a settlement is one
`TransactWriteItems`: the account is replaced only if its `version` is still the one read
(optimistic locking), and the order item only if it does not exist yet (decide) or has no
settlement yet (settle). A losing writer re-reads and either finds the work done (returns False)
or tries again on the fresh state, so every order id is applied exactly once.

Money is stored as decimal strings: exact, with no 38-digit limit to think about.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from botocore.exceptions import ClientError

from consumers.stores.ports import Account, AccountKey, Decision, OrderRecord, Settlement, StreamKey, UnknownOrder
from consumers.stores.transitions import apply_decision, apply_settlement
from consumers.strategies.window import Window
from events.codec import detail_from_dict
from events.models import BarClosed, OrderFilled, OrderRejected, OrderRequested
from events.timeframes import timeframe_ms

Item = dict[str, Any]

BAR_TTL_S = 14 * 24 * 3600  # bars older than any window are only history; TTL deletes them for free
PROCESSED_TTL_S = 7 * 24 * 3600  # redeliveries come within minutes; a week is plenty
MAX_ATTEMPTS = 50  # optimistic-lock retries before giving up (the Lambda then retries the whole event)


@dataclass(frozen=True)
class TableSpec:
    """Key schema of one table: partition key, optional numeric sort key, optional TTL attribute."""

    role: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None


TABLES = (
    TableSpec("bars", "stream", sort_key="open_time_ms", ttl_attribute="expires_at"),
    TableSpec("accounts", "account"),
    TableSpec("orders", "order_id"),
    TableSpec("processed", "delivery", ttl_attribute="expires_at"),
    TableSpec("control", "name"),
)


@dataclass(frozen=True)
class TableNames:
    bars: str
    accounts: str
    orders: str
    processed: str
    control: str

    @classmethod
    def with_prefix(cls, prefix: str) -> TableNames:
        return cls(**{spec.role: f"{prefix}{spec.role}" for spec in TABLES})

    def of(self, spec: TableSpec) -> str:
        return str(getattr(self, spec.role))


def create_tables(client: Any, names: TableNames) -> None:
    """On-demand tables with TTL, as the CDK stack declares them (for DynamoDB Local and scripts)."""
    for spec in TABLES:
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        attributes = [{"AttributeName": spec.partition_key, "AttributeType": "S"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
            attributes.append({"AttributeName": spec.sort_key, "AttributeType": "N"})
        name = names.of(spec)
        client.create_table(
            TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
        )
        client.get_waiter("table_exists").wait(TableName=name)
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )


def _stream_id(stream: StreamKey) -> str:
    return f"{stream.exchange}|{stream.symbol}|{stream.timeframe}"


def _account_id(key: AccountKey) -> str:
    return f"{key.strategy}|{key.exchange}|{key.symbol}"


def _is(error: ClientError, code: str) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == code)


class DynamoBarStore:
    """Bars partitioned per exchange/symbol/timeframe, sorted by open time, expiring by TTL.

    A warm Lambda keeps the bars it has written or read (bars are immutable facts, so a remembered
    bar is never wrong), and a window only queries the open times it does not know yet: in steady
    state that is the one-bar probe for the next bar, not the whole window (14 read units a bar
    before, under 1 now).
    """

    def __init__(self, client: Any, table: str, remember_bars: int = 4096) -> None:
        self.client = client
        self.table = table
        self.remember_bars = remember_bars
        self._known: dict[str, dict[int, BarClosed]] = {}  # stream id → open time → bar

    def add(self, bar: BarClosed) -> bool:
        stream = f"{bar.exchange}|{bar.symbol}|{bar.timeframe}"
        if bar.open_time_ms in self._known.get(stream, {}):
            return False
        item = {
            "stream": {"S": stream},
            "open_time_ms": {"N": str(bar.open_time_ms)},
            "bar": {"S": bar.model_dump_json()},
            # from the time written, not the bar's own time: a replay of old bars must not expire on arrival
            "expires_at": {"N": str(int(time.time()) + BAR_TTL_S)},
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(open_time_ms)"
            )
        except ClientError as error:
            if not _is(error, "ConditionalCheckFailedException"):
                raise
            self._remember(stream, bar)  # another delivery stored it first: it is there all the same
            return False
        self._remember(stream, bar)
        return True

    def window(self, stream: StreamKey, end_open_time_ms: int, length: int) -> Window | None:
        interval = timeframe_ms(stream.timeframe)
        times = [end_open_time_ms - (length - 1 - n) * interval for n in range(length)]
        stream_id = _stream_id(stream)
        known = self._known.setdefault(stream_id, {})
        missing = [t for t in times if t not in known]
        if missing:
            for bar in self._query(stream_id, missing[0], missing[-1]):
                self._remember(stream_id, bar)
            if any(t not in known for t in missing):
                return None
        return Window([known[t] for t in times])

    def _query(self, stream_id: str, first_ms: int, last_ms: int) -> Iterator[BarClosed]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="#s = :s AND open_time_ms BETWEEN :a AND :b",
            ExpressionAttributeNames={"#s": "stream"},
            ExpressionAttributeValues={
                ":s": {"S": stream_id},
                ":a": {"N": str(first_ms)},
                ":b": {"N": str(last_ms)},
            },
            ProjectionExpression="bar",
            ConsistentRead=True,
        )
        for page in pages:
            for item in page["Items"]:
                yield BarClosed.model_validate_json(item["bar"]["S"])

    def _remember(self, stream_id: str, bar: BarClosed) -> None:
        known = self._known.setdefault(stream_id, {})
        known[bar.open_time_ms] = bar
        if len(known) > 2 * self.remember_bars:  # keep the newest; trimming in bulk keeps this O(1) per bar
            for open_time in sorted(known)[: -self.remember_bars]:
                del known[open_time]


class DynamoBook:
    """Accounts and orders; every change is a conditional transaction (see the module docstring)."""

    def __init__(self, client: Any, names: TableNames, starting_cash: Decimal) -> None:
        self.client = client
        self.names = names
        self.starting_cash = starting_cash
        # The last read of each account, so a decision made on it needs no second read: if the account
        # moved since, the version condition refuses the write and the next attempt reads it fresh.
        self._read: dict[AccountKey, tuple[Account, int]] = {}

    def account(self, key: AccountKey) -> Account:
        read = self._read[key] = self._read_account(key)
        return read[0].copy()

    def decide(self, decision: Decision) -> bool:
        for _ in range(MAX_ATTEMPTS):
            last_read = self._read.pop(decision.account, None)
            account, version = (
                (last_read[0].copy(), last_read[1]) if last_read else self._read_account(decision.account)
            )
            cursor = account.decided_through_ms
            if cursor is not None and decision.bar_open_time_ms <= cursor:
                return False
            apply_decision(account, decision)
            writes = [self._put_account(account, version)]
            if decision.order is not None:
                writes.append(self._put_new_order(decision.order))
            outcome = self._transact(writes)
            if outcome is None:
                return True
            if decision.order is not None and outcome == (1, "ConditionalCheckFailed"):
                return False  # that order id is already recorded: another delivery decided this bar
            # else the account moved since it was read (a settlement, a concurrent decision): read it again
        raise ContentionExhausted(f"account {_account_id(decision.account)}: {MAX_ATTEMPTS} conflicting writers")

    def order(self, order_id: str) -> OrderRecord | None:
        item = self.client.get_item(TableName=self.names.orders, Key={"order_id": {"S": order_id}}, ConsistentRead=True)
        return _order_from_item(item["Item"]) if "Item" in item else None

    def settle(self, settlement: Settlement) -> bool:
        for _ in range(MAX_ATTEMPTS):
            record = self.order(settlement.order_id)
            if record is None:
                raise UnknownOrder(f"order {settlement.order_id} was never requested")
            if record.settlement is not None:
                return False
            request = record.request
            account, version = self._read_account(AccountKey(request.strategy, request.exchange, request.symbol))
            apply_settlement(account, request, settlement)
            if self._transact([self._put_account(account, version), self._settle_order(settlement)]) is None:
                return True
        raise ContentionExhausted(f"order {settlement.order_id}: {MAX_ATTEMPTS} conflicting writers")

    def accounts(self) -> list[Account]:
        return [_account_from_item(item)[0] for item in _scan(self.client, self.names.accounts)]

    def records(self) -> list[OrderRecord]:
        return [_order_from_item(item) for item in _scan(self.client, self.names.orders)]

    def _read_account(self, key: AccountKey) -> tuple[Account, int]:
        answer = self.client.get_item(
            TableName=self.names.accounts, Key={"account": {"S": _account_id(key)}}, ConsistentRead=True
        )
        if "Item" not in answer:
            return Account(key, cash=self.starting_cash), 0
        return _account_from_item(answer["Item"])

    def _put_account(self, account: Account, version: int) -> Item:
        put: Item = {"TableName": self.names.accounts, "Item": _account_item(account, version + 1)}
        if version == 0:
            put["ConditionExpression"] = "attribute_not_exists(account)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return {"Put": put}

    def _put_new_order(self, order: OrderRequested) -> Item:
        item = {
            "order_id": {"S": order.order_id},
            "strategy": {"S": order.strategy},
            "request": {"S": order.model_dump_json()},
        }
        return {
            "Put": {
                "TableName": self.names.orders,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        }

    def _settle_order(self, settlement: Settlement) -> Item:
        return {
            "Update": {
                "TableName": self.names.orders,
                "Key": {"order_id": {"S": settlement.order_id}},
                "UpdateExpression": "SET settlement_type = :t, settlement = :s",
                "ConditionExpression": "attribute_exists(order_id) AND attribute_not_exists(settlement_type)",
                "ExpressionAttributeValues": {
                    ":t": {"S": type(settlement).__name__},
                    ":s": {"S": settlement.model_dump_json()},
                },
            }
        }

    def _transact(self, writes: list[Item]) -> tuple[int, str] | None:
        """None when committed; else (index, reason code) of the first write that was refused."""
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if not _is(error, "TransactionCanceledException"):
                raise
            reasons = error.response.get("CancellationReasons", [])
            for index, reason in enumerate(reasons):
                if reason.get("Code") not in (None, "None"):
                    return index, str(reason["Code"])
            return 0, "TransactionConflict"
        return None


class ContentionExhausted(RuntimeError):
    """Too many concurrent writers on one account: raise so the delivery is retried later."""


class DynamoProcessedIds:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def seen(self, consumer: str, event_id: str) -> bool:
        key = {"delivery": {"S": f"{consumer}|{event_id}"}}
        return "Item" in self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)

    def mark(self, consumer: str, event_id: str) -> None:
        item = {
            "delivery": {"S": f"{consumer}|{event_id}"},
            "expires_at": {"N": str(int(time.time()) + PROCESSED_TTL_S)},
        }
        self.client.put_item(TableName=self.table, Item=item)


_KILL_SWITCH = {"name": {"S": "kill_switch"}}


class DynamoKillSwitch:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def engaged(self) -> str | None:
        answer = self.client.get_item(TableName=self.table, Key=_KILL_SWITCH, ConsistentRead=True)
        return str(answer["Item"]["value"]["S"]) if "Item" in answer else None

    def engage(self, reason: str) -> None:
        self.client.put_item(TableName=self.table, Item={**_KILL_SWITCH, "value": {"S": reason or "engaged"}})

    def release(self) -> None:
        self.client.delete_item(TableName=self.table, Key=_KILL_SWITCH)


class DynamoReconciliationLog:
    """The last reconciliation, as one item of the control table."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def save(self, document: str) -> None:
        self.client.put_item(TableName=self.table, Item={**_RECONCILIATION, "value": {"S": document}})

    def last(self) -> str | None:
        answer = self.client.get_item(TableName=self.table, Key=_RECONCILIATION, ConsistentRead=True)
        return str(answer["Item"]["value"]["S"]) if "Item" in answer else None


_RECONCILIATION = {"name": {"S": "reconciliation"}}


def _scan(client: Any, table: str) -> Iterator[Item]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


def _account_item(account: Account, version: int) -> Item:
    key = account.key
    item: Item = {
        "account": {"S": _account_id(key)},
        "strategy": {"S": key.strategy},
        "exchange": {"S": key.exchange},
        "symbol": {"S": key.symbol},
        "cash": {"S": str(account.cash)},
        "position": {"S": str(account.position)},
        "pending": {"S": str(account.pending)},
        "fees": {"S": str(account.fees)},
        "target": {"S": str(account.target)},
        "fills": {"N": str(account.fills)},
        "rejects": {"N": str(account.rejects)},
        "version": {"N": str(version)},
    }
    if account.decided_through_ms is not None:
        item["decided_through_ms"] = {"N": str(account.decided_through_ms)}
    if account.refused_target is not None:
        item["refused_target"] = {"S": str(account.refused_target)}
    if account.fee_assets:
        item["fee_assets"] = {"M": {asset: {"S": str(paid)} for asset, paid in account.fee_assets.items()}}
    return item


def _account_from_item(item: Item) -> tuple[Account, int]:
    account = Account(
        AccountKey(item["strategy"]["S"], item["exchange"]["S"], item["symbol"]["S"]),
        cash=Decimal(item["cash"]["S"]),
        position=Decimal(item["position"]["S"]),
        pending=Decimal(item["pending"]["S"]),
        fees=Decimal(item["fees"]["S"]),
        target=Decimal(item["target"]["S"]),
        decided_through_ms=int(item["decided_through_ms"]["N"]) if "decided_through_ms" in item else None,
        fills=int(item["fills"]["N"]),
        rejects=int(item["rejects"]["N"]),
        refused_target=Decimal(item["refused_target"]["S"]) if "refused_target" in item else None,
        fee_assets={asset: Decimal(paid["S"]) for asset, paid in item.get("fee_assets", {}).get("M", {}).items()},
    )
    return account, int(item["version"]["N"])


def _order_from_item(item: Item) -> OrderRecord:
    order_id = item["order_id"]["S"]
    settlement: Settlement | None = None
    if "settlement_type" in item:
        event = detail_from_dict(
            item["settlement_type"]["S"], orjson.loads(item["settlement"]["S"]), f"dynamodb orders/{order_id}"
        )
        assert isinstance(event, OrderFilled | OrderRejected)
        settlement = event
    return OrderRecord(OrderRequested.model_validate_json(item["request"]["S"]), settlement)
