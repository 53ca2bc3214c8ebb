"""`stds halt` and `stds resume`: engage and release the global kill switch of a state file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    halt = commands.add_parser("halt", help="engage the global kill switch: execution rejects every order")
    halt.add_argument("--db", type=Path, required=True)
    halt.add_argument(
        "--reason", type=_reason, default="halted by operator", help="carried by every order rejected while halted"
    )
    halt.set_defaults(run=run)
    resume = commands.add_parser("resume", help="release the global kill switch")
    resume.add_argument("--db", type=Path, required=True)
    resume.set_defaults(run=run, reason=None)


def _reason(text: str) -> str:
    from infra.halt_reason import InvalidHaltReason, halt_reason

    try:
        return halt_reason(text)
    except InvalidHaltReason as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    """Only the control row is touched: the switch works whatever else the state file holds, and while
    a run holds the file (it reads the switch before every order). A reason engages it; none releases it."""
    from consumers.stores.sqlite import SqliteKillSwitch, open_existing

    connection = open_existing(args.db)
    try:
        switch = SqliteKillSwitch(connection)
        if args.reason is None:
            switch.release()
        else:
            switch.engage(args.reason)
    finally:
        connection.close()
    if args.reason is None:
        print(f"kill switch released on {args.db}")
    else:
        print(f"kill switch engaged on {args.db}: every order will be rejected until `stds resume --db {args.db}`")
    return 0
