"""`stds holdings`: positions, pending, cash and fees per sub-account in a state file, and the last reconciliation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    holdings = commands.add_parser("holdings", help="show positions, cash and fees per sub-account in a state file")
    holdings.add_argument("--db", type=Path, required=True, help="state file, e.g. out/replay/state.sqlite")
    holdings.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from consumers.stores.sqlite import SqliteKillSwitch, SqliteReconciliationLog, open_existing, read_accounts
    from infra.report.money import money, places_for

    connection = open_existing(args.db)
    try:
        accounts = read_accounts(connection)
        halted = SqliteKillSwitch(connection).engaged()
        last = SqliteReconciliationLog(connection).last()
    finally:
        connection.close()
    print(f"kill switch: {f'ENGAGED, {halted.mode} ({halted.reason})' if halted else 'released'}")
    print(f"{'strategy':<20} {'symbol':<12} {'position':>12} {'pending':>10} {'cash':>18} {'fees':>14} fills")
    for account in sorted(accounts, key=lambda a: (a.key.strategy, a.key.symbol)):
        key = account.key
        places = places_for([key.symbol])
        paid_elsewhere = "".join(f"  + {paid} {asset} fees" for asset, paid in sorted(account.fee_assets.items()))
        print(
            f"{key.strategy:<20} {key.symbol:<12} {account.position!s:>12} {account.pending!s:>10} "
            f"{money(account.cash, places):>18} {money(account.fees, places):>14} {account.fills}{paid_elsewhere}"
        )
    if last is not None:
        from consumers.reconciliation.reconciler import describe

        print("\n".join(describe(orjson.loads(last))))
    return 0
