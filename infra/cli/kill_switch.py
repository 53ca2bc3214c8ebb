"""`stds halt` and `stds resume`: engage (in one of its modes) and release the global kill switch of a state file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from consumers.stores.kill_switch_modes import KILL_SWITCH_MODES, WHAT_EACH_MODE_DOES

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    halt = commands.add_parser(
        "halt",
        help="engage the global kill switch: halt, reduce-only or flatten",
        description="Engage the kill switch of a state file; a running `stds run`/`stds replay` on it obeys at once. "
        + "; ".join(f"{mode}: {effect}" for mode, effect in WHAT_EACH_MODE_DOES.items())
        + ". `stds resume` releases it.",
    )
    halt.add_argument("--db", type=Path, required=True)
    halt.add_argument("--mode", choices=KILL_SWITCH_MODES, default="halt", help="what may still trade (default halt)")
    halt.add_argument(
        "--reason", type=_reason, default="halted by operator", help="carried by every order rejected while halted"
    )
    halt.set_defaults(run=run)
    resume = commands.add_parser("resume", help="release the global kill switch")
    resume.add_argument("--db", type=Path, required=True)
    resume.set_defaults(run=run, reason=None, mode=None)


def _reason(text: str) -> str:
    from infra.halt_reason import InvalidHaltReason, halt_reason

    try:
        return halt_reason(text)
    except InvalidHaltReason as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    """Only the control row is touched: the switch works whatever else the state file holds, and while
    a run holds the file (it reads the switch again after each commit). A reason engages it; none releases it."""
    from consumers.stores.ports import KillSwitchState
    from consumers.stores.sqlite import SqliteKillSwitch, open_existing

    connection = open_existing(args.db)
    try:
        switch = SqliteKillSwitch(connection)
        if args.reason is None:
            switch.release()
        else:
            switch.engage(KillSwitchState.new(args.mode, args.reason))
    finally:
        connection.close()
    if args.reason is None:
        print(f"kill switch released on {args.db}")
    else:
        print(
            f"kill switch engaged on {args.db} ({args.mode}): {WHAT_EACH_MODE_DOES[args.mode]} "
            f"until `stds resume --db {args.db}`"
        )
    return 0
