"""`stds reconcile`: compare the book with the exchange once, settle what it missed, halt on the rest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import add_broker_options, symbol_list, with_broker_args

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="compare the book with the exchange once, settle what the book missed, halt on what is unexplained",
        description=(
            "Fetch the exchange's balances, open orders and the state of every unsettled order; settle pending "
            "orders older than the deadline from the exchange's answer; compare each asset with the sum of the "
            "sub-accounts plus the configured baseline; engage the kill switch naming what differs. The result "
            "is kept in the state file (`stds holdings` shows it). Exit 0 when everything agrees, 1 otherwise. "
            "Needs --broker ccxt (the testnet, or --live), and refuses a state whose run traded elsewhere."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    reconcile.add_argument("--db", type=Path, required=True, help="state file of a `stds run`")
    reconcile.add_argument("--config", type=Path, required=True, help="the strategies file the run uses")
    reconcile.add_argument("--symbols", help="the run's symbols (default: those the strategies name)")
    add_broker_options(reconcile)
    reconcile.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from consumers.reconciliation.reconciler import Reconciler, describe
    from infra.config import load_config
    from infra.local.exchange_keys import load_credentials
    from infra.local.stores import reconcile_stores
    from infra.local.trading import ccxt_broker, check_keys

    if args.broker != "ccxt":  # which account to compare with (and send keys to) is never guessed
        raise ValueError(
            "stds reconcile compares with an exchange account: give --broker ccxt (and --live for real money)"
        )
    config = with_broker_args(load_config(args.config), args)
    symbols = symbol_list(args.symbols) if args.symbols else config.named_symbols()
    if not args.db.exists():
        raise FileNotFoundError(f"{args.db}: no state file here (a `stds run` creates OUT/state.sqlite)")
    broker = ccxt_broker(config.broker, load_credentials(config.broker.key_file), None)
    stores = reconcile_stores(args.db, config)
    try:
        check_keys(broker)
        keys = config.sub_accounts(config.broker.exchange, symbols)
        result = Reconciler.of(stores, broker, config.broker.reconcile, keys).run(int(time.time() * 1000))
    finally:
        stores.close()
    print("\n".join(describe(result.document())))
    return 0 if result.agrees else 1
