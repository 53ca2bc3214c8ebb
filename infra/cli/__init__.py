"""The `stds` command: one module per command (or small family), each with `add(commands)` and `run(args)`.

Each command imports what it runs lazily, inside `run`, so `stds --help` starts fast.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from infra.cli import (
    cost,
    dashboard,
    deploy,
    dlq,
    download,
    exchange,
    holdings,
    kill_switch,
    reconcile,
    replay,
    run,
    schema,
    strategies,
    strategy,
    stream,
    sweep,
)
from infra.cli.aws_errors import aws_setup_problem

if TYPE_CHECKING:
    from infra.cli.options import Commands


class Command(Protocol):
    """What each command module provides: its parser(s), whose defaults name the `run` that does the work."""

    def add(self, commands: Commands) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# in the order `stds --help` lists them
COMMANDS: tuple[Command, ...] = (
    replay,
    sweep,
    download,
    run,
    stream,
    cost,
    strategy,
    deploy,
    dlq,
    exchange,
    strategies,
    schema,
    holdings,
    reconcile,
    kill_switch,
    dashboard,
)

EPILOG = """\
examples:
  stds run --symbols BTC/USDT,ETH/USDT --strategy sma_cross --out out/live      # live, Binance public streams
  stds run --symbols BTC/USDT --strategy sma_cross --local-exchange DATA --speed 3600  # against recorded bars
  stds replay ../shared/data/binance/spot/klines/1m/BTCUSDT --strategy sma_cross --param fast=10 --out out/sma
  stds replay DATA_DIR --config strategies.toml --out out/many      # several strategies from a file
  stds download --symbols BTC/USDT,ETH/USDT --since 2024-01-01 --out data   # history, archive then REST
  stds strategies                                                    # built-in strategies and their parameters
  stds schema --out schemas/                                         # JSON Schema of every event
  stds halt --db out/sma/state.sqlite --reason "exchange incident"   # global kill switch
  stds deploy --strategies strategies.toml --alarm-email you@example.com   # to AWS, ap-northeast-1
  stds dlq list --prefix stds-                                       # what the deployment failed to handle
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from infra.logs import configure_logging

    configure_logging(args.log_level, args.log_format)
    try:
        result: int = args.run(args)
        return result
    except (FileNotFoundError, ValueError) as error:  # ValueError: infra.config's ConfigError too
        print(f"stds: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a read-only --out, a full disk: say which file, not where in stds it failed
        where = f": {error.filename}" if error.filename else ""
        print(f"stds: error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except sqlite3.Error as error:
        advice = "free space or fix permissions, then --resume"
        print(f"stds: error: the state file cannot be written: {error}; {advice}", file=sys.stderr)
        return 2
    except Exception as error:
        problem = aws_setup_problem(error)
        if problem is None:
            raise
        print(f"stds: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stds: interrupted; state is committed up to the last bar fully handled", file=sys.stderr)
        return 130


def parser() -> argparse.ArgumentParser:
    stds = argparse.ArgumentParser(
        prog="stds",
        description="Systematic Trading Done Serverless: event-driven crypto trading, embedded or on AWS.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stds.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default), ERROR")
    stds.add_argument("--log-format", choices=["text", "json"], default="text", help="log lines as text or JSON")
    commands = stds.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return stds
