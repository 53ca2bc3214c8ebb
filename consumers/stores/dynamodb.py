"""DynamoDB stores: the same ports as SQLite, safe under concurrent Lambdas.

One table per kind of item (see `TABLES`), so each function's IAM policy names only the tables it
uses. Sub-accounts are partitioned by strategy (sort key: exchange and symbol), so a strategy's role is
limited to its own holdings with `dynamodb:LeadingKeys`, and one strongly consistent `Query` reads all of
them at the start of an invocation: billed by their total size (4 KB a unit), not per item.

A decision that changes something (a new target, an order) or a settlement is one `TransactWriteItems`:
the account is replaced only if its `version` is still the one read (optimistic locking), and the order
item only if it does not exist yet (decide) or has no settlement yet (settle). A losing writer re-reads
and either finds the work done (returns False) or tries again on the fresh state, so every order id is
applied exactly once. A decision that changes nothing writes no account: it only moves the strategy's
decision cursors, which `end_decisions` writes once per invocation as one item beside the accounts.

Money is stored as decimal strings: exact, with no 38-digit limit to think about.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from consumers.stores.ports import (
    Account,
    AccountKey,
    Decision,
    KillSwitchState,
    OrderRecord,
    Settlement,
    UnknownOrder,
)
from consumers.stores.records import (
    ACCOUNT_FIELDS,
    account_fields,
    account_from_fields,
    kill_switch_fields,
    kill_switch_from_fields,
    order_from_fields,
    request_field,
    settlement_fields,
)
from consumers.stores.transitions import apply_decision, apply_placement, apply_settlement, moves_only_the_cursor
from events.models import OrderRequested

Item = dict[str, Any]

PROCESSED_TTL_S = 7 * 24 * 3600  # redeliveries come within minutes; a week is plenty
MAX_ATTEMPTS = 50  # optimistic-lock retries before giving up (the Lambda then retries the whole event)


@dataclass(frozen=True)
class TableSpec:
    """Key schema of one table: partition key, optional numeric sort key, optional TTL attribute."""

    role: str
    partition_key: str
    sort_key: str | None = None
    sort_type: str = "S"
    ttl_attribute: str | None = None


TABLES = (
    TableSpec("subaccounts", "strategy", sort_key="account"),
    TableSpec("orders", "order_id"),
    TableSpec("processed", "delivery", ttl_attribute="expires_at"),
    TableSpec("control", "name"),
)


@dataclass(frozen=True)
class TableNames:
    subaccounts: str
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
            attributes.append({"AttributeName": spec.sort_key, "AttributeType": spec.sort_type})
        name = names.of(spec)
        client.create_table(
            TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
        )
        client.get_waiter("table_exists").wait(TableName=name)
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )


def _account_id(key: AccountKey) -> str:
    """The sort key of a sub-account within its strategy's partition."""
    return f"{key.exchange}|{key.symbol}"


def _key_of(key: AccountKey) -> Item:
    return {"strategy": {"S": key.strategy}, "account": {"S": _account_id(key)}}


# the item beside a strategy's sub-accounts that holds how far it decided each of them (exchange ids are
# lower-case letters and digits, so no sub-account sorts as this)
CURSORS = "#cursors"


def _is(error: ClientError, code: str) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == code)


class DynamoBook:
    """Accounts and orders; every change is a conditional transaction (see the module docstring)."""

    def __init__(self, client: Any, names: TableNames, starting_cash: Decimal) -> None:
        self.client = client
        self.names = names
        self.starting_cash = starting_cash
        # The last read of each account, so a decision made on it needs no second read: if the account
        # moved since, the version condition refuses the write and the next attempt reads it fresh.
        self._read: dict[AccountKey, tuple[Account, int]] = {}
        self._loaded: set[str] = set()  # strategies whose every sub-account this invocation read at once
        # per strategy: (decision cursors as read, their item's version), and cursors moved but not yet written
        self._cursors: dict[str, tuple[dict[str, int], int]] = {}
        self._moved: dict[str, dict[str, int]] = {}

    def begin_decisions(self, strategy: str) -> None:
        """Read every sub-account of `strategy` and its decision cursors with one strongly consistent Query:
        the one account read of an invocation. Accounts it does not return start fresh."""
        self._loaded.discard(strategy)
        for key in [key for key in self._read if key.strategy == strategy]:
            del self._read[key]
        self._cursors[strategy] = ({}, 0)
        for item in _query(self.client, self.names.subaccounts, strategy):
            if item["account"]["S"] == CURSORS:
                self._cursors[strategy] = _cursors_from_item(item)
            else:
                account, version = _account_from_item(item)
                self._read[account.key] = (account, version)
        self._loaded.add(strategy)

    def account(self, key: AccountKey) -> Account:
        if key.strategy in self._loaded:
            account, version = self._read.get(key) or (Account(key, cash=self.starting_cash), 0)
            self._read[key] = (account, version)
        else:
            account, version = self._read[key] = self._read_account(key)
        return self._with_cursor(account.copy())

    def decide(self, decision: Decision) -> bool:
        key = decision.account
        for _ in range(MAX_ATTEMPTS):
            last_read = self._read.pop(key, None) if key.strategy not in self._loaded else self._read.get(key)
            account, version = (last_read[0].copy(), last_read[1]) if last_read else self._fresh_or_read(key)
            self._with_cursor(account)
            cursor = account.decided_through_ms
            if cursor is not None and decision.bar_open_time_ms <= cursor:
                return False
            if moves_only_the_cursor(account, decision.target, decision.order):
                # nothing to write but the cursor: kept beside the accounts, saved once per invocation
                self._moved.setdefault(key.strategy, {})[_account_id(key)] = decision.bar_open_time_ms
                return True
            apply_decision(account, decision)
            writes = [self._put_account(account, version)]
            if decision.order is not None:
                writes.append(self._put_new_order(decision.order))
            outcome = self._transact(writes)
            if outcome is None:
                self._read[key] = (account, version + 1)
                return True
            self._read.pop(key, None)
            self._loaded.discard(key.strategy)  # read this account again, by itself
            if decision.order is not None and outcome == (1, "ConditionalCheckFailed"):
                return False  # that order id is already recorded: another delivery decided this bar
            # else the account moved since it was read (a settlement, a concurrent decision): read it again
        raise ContentionExhausted(f"account {key}: {MAX_ATTEMPTS} conflicting writers")

    def move_cursor(self, key: AccountKey, bar_open_time_ms: int, target: Decimal) -> bool:
        # `decide` checks the account as it reads it: a cursor alone is kept apart there, anything else written
        return self.decide(Decision(key, bar_open_time_ms, target, None))

    def end_decisions(self) -> None:
        self.save_cursors()

    def save_cursors(self) -> int:
        """Write the decision cursors this process moved without writing an account (one conditional put per
        strategy, merged with whatever a concurrent invocation saved first); how many items were written."""
        written = 0
        for strategy, moved in list(self._moved.items()):
            for _ in range(MAX_ATTEMPTS):
                saved, version = self._cursors.get(strategy) or self._read_cursors(strategy)
                merged = dict(saved)
                for account, open_time in moved.items():
                    merged[account] = max(open_time, merged.get(account, open_time))
                if self._put_cursors(strategy, merged, version):
                    self._cursors[strategy] = (merged, version + 1)
                    written += 1
                    break
                self._cursors[strategy] = self._read_cursors(strategy)
            else:
                raise ContentionExhausted(f"cursors of {strategy}: {MAX_ATTEMPTS} conflicting writers")
            del self._moved[strategy]
        return written

    def _with_cursor(self, account: Account) -> Account:
        """The account with its cursor at the furthest of: its own, the saved cursors, the ones moved here."""
        key = account.key
        account_id = _account_id(key)
        candidates = [account.decided_through_ms, self._moved.get(key.strategy, {}).get(account_id)]
        saved = self._cursors.get(key.strategy)
        if saved is not None:
            candidates.append(saved[0].get(account_id))
        known = [cursor for cursor in candidates if cursor is not None]
        account.decided_through_ms = max(known) if known else None
        return account

    def _fresh_or_read(self, key: AccountKey) -> tuple[Account, int]:
        if key.strategy in self._loaded:
            return Account(key, cash=self.starting_cash), 0
        return self._read_account(key)

    def order(self, order_id: str) -> OrderRecord | None:
        item = self.client.get_item(TableName=self.names.orders, Key={"order_id": {"S": order_id}}, ConsistentRead=True)
        return _order_from_item(item["Item"]) if "Item" in item else None

    def place(self, order: OrderRequested) -> bool:
        key = AccountKey(order.strategy, order.exchange, order.symbol)
        for _ in range(MAX_ATTEMPTS):
            if self.order(order.order_id) is not None:
                return False
            account, version = self._read_account(key)
            apply_placement(account, order)
            outcome = self._transact([self._put_account(account, version), self._put_new_order(order)])
            self._read.pop(key, None)
            if outcome is None:
                return True
            if outcome == (1, "ConditionalCheckFailed"):
                return False  # a concurrent delivery placed it first
        raise ContentionExhausted(f"account {key}: {MAX_ATTEMPTS} conflicting writers")

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
        """Every sub-account, each with its cursor at the furthest its strategy saved."""
        accounts: list[Account] = []
        cursors: dict[str, dict[str, int]] = {}
        for item in _scan(self.client, self.names.subaccounts):
            if item["account"]["S"] == CURSORS:
                cursors[item["strategy"]["S"]] = _cursors_from_item(item)[0]
            else:
                accounts.append(_account_from_item(item)[0])
        for account in accounts:
            saved = cursors.get(account.key.strategy, {}).get(_account_id(account.key))
            if saved is not None and (account.decided_through_ms is None or saved > account.decided_through_ms):
                account.decided_through_ms = saved
        return accounts

    def orders(self) -> list[OrderRecord]:
        return [_order_from_item(item) for item in _scan(self.client, self.names.orders)]

    def _read_account(self, key: AccountKey) -> tuple[Account, int]:
        answer = self.client.get_item(TableName=self.names.subaccounts, Key=_key_of(key), ConsistentRead=True)
        if "Item" not in answer:
            return Account(key, cash=self.starting_cash), 0
        return _account_from_item(answer["Item"])

    def _read_cursors(self, strategy: str) -> tuple[dict[str, int], int]:
        key = {"strategy": {"S": strategy}, "account": {"S": CURSORS}}
        answer = self.client.get_item(TableName=self.names.subaccounts, Key=key, ConsistentRead=True)
        return _cursors_from_item(answer["Item"]) if "Item" in answer else ({}, 0)

    def _put_cursors(self, strategy: str, cursors: dict[str, int], version: int) -> bool:
        item = {
            "strategy": {"S": strategy},
            "account": {"S": CURSORS},
            "decided": {"M": {account: {"N": str(open_time)} for account, open_time in cursors.items()}},
            "version": {"N": str(version + 1)},
        }
        put: Item = {"TableName": self.names.subaccounts, "Item": item}
        if version == 0:
            put["ConditionExpression"] = "attribute_not_exists(account)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        try:
            self.client.put_item(**put)
        except ClientError as error:
            if not _is(error, "ConditionalCheckFailedException"):
                raise
            return False
        return True

    def _put_account(self, account: Account, version: int) -> Item:
        put: Item = {"TableName": self.names.subaccounts, "Item": _account_item(account, version + 1)}
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
            "request": {"S": request_field(order)},
        }
        return {
            "Put": {
                "TableName": self.names.orders,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        }

    def _settle_order(self, settlement: Settlement) -> Item:
        settlement_type, document = settlement_fields(settlement)
        return {
            "Update": {
                "TableName": self.names.orders,
                "Key": {"order_id": {"S": settlement.order_id}},
                "UpdateExpression": "SET settlement_type = :t, settlement = :s",
                "ConditionExpression": "attribute_exists(order_id) AND attribute_not_exists(settlement_type)",
                "ExpressionAttributeValues": {
                    ":t": {"S": settlement_type},
                    ":s": {"S": document},
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

    def engaged(self) -> KillSwitchState | None:
        answer = self.client.get_item(TableName=self.table, Key=_KILL_SWITCH, ConsistentRead=True)
        if "Item" not in answer:
            return None
        item = answer["Item"]
        # before modes, the item held only its reason, as `value`
        fields = {name: item[name]["S"] for name in ("mode", "reason", "engagement") if name in item}
        fields.setdefault("reason", item.get("value", {}).get("S", "engaged"))
        return kill_switch_from_fields(fields)

    def engage(self, state: KillSwitchState) -> None:
        self.client.put_item(TableName=self.table, Item=_kill_switch_item(state))

    def release(self) -> None:
        self.client.delete_item(TableName=self.table, Key=_KILL_SWITCH)

    def settle_flatten(self, flatten: KillSwitchState, reason: str) -> bool:
        halted = KillSwitchState("halt", reason, flatten.engagement)
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_kill_switch_item(halted),
                ConditionExpression="#mode = :flatten AND engagement = :engagement",
                ExpressionAttributeNames={"#mode": "mode"},
                ExpressionAttributeValues={":flatten": {"S": "flatten"}, ":engagement": {"S": flatten.engagement}},
            )
        except ClientError as error:
            if not _is(error, "ConditionalCheckFailedException"):
                raise
            return False
        return True


def _kill_switch_item(state: KillSwitchState) -> Item:
    return {**_KILL_SWITCH, **{name: {"S": value} for name, value in kill_switch_fields(state).items()}}


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


def _query(client: Any, table: str, strategy: str) -> Iterator[Item]:
    pages = client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="strategy = :s",
        ExpressionAttributeValues={":s": {"S": strategy}},
        ConsistentRead=True,
    )
    for page in pages:
        yield from page["Items"]


def _cursors_from_item(item: Item) -> tuple[dict[str, int], int]:
    decided = {account: int(value["N"]) for account, value in item.get("decided", {}).get("M", {}).items()}
    return decided, int(item["version"]["N"])


def _account_item(account: Account, version: int) -> Item:
    fields = account_fields(account)
    item = {name: _attribute(value) for name, value in fields.items() if value is not None}
    return {**item, "account": {"S": _account_id(account.key)}, "version": {"N": str(version)}}


def _account_from_item(item: Item) -> tuple[Account, int]:
    account = account_from_fields({name: _plain(item[name]) for name in ACCOUNT_FIELDS if name in item})
    return account, int(item["version"]["N"])


def _attribute(value: str | int | dict[str, str]) -> Item:
    """A stored field as a DynamoDB attribute: text, a number, or a map of texts (third-asset fees)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"M": {name: {"S": text} for name, text in value.items()}}


def _plain(attribute: Item) -> object:
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        return int(attribute["N"])
    return {name: _plain(value) for name, value in attribute["M"].items()}


def _order_from_item(item: Item) -> OrderRecord:
    settled = (item["settlement_type"]["S"], item["settlement"]["S"]) if "settlement_type" in item else None
    return order_from_fields(item["request"]["S"], settled, f"dynamodb orders/{item['order_id']['S']}")
