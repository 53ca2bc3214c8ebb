"""`stds strategy add NAME`: scaffold a strategy module, its test and its line in the strategies file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import symbol_list

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    strategy = commands.add_parser("strategy", help="work on your own strategies (stds strategy add NAME)")
    actions = strategy.add_subparsers(dest="action", required=True, metavar="ACTION")
    scaffold = actions.add_parser(
        "add",
        help="scaffold a strategy module, its test and its line in the strategies file",
        description=(
            "Write DIR/NAME.py (a working strategy: long above its moving average, to edit), TESTS/test_NAME.py, "
            "and insert `NAME = { use = ..., symbols = [...] }` into the [strategies] table of --config. On AWS "
            "that line is one more function and rule at the next `stds deploy`."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    scaffold.add_argument("name", help="instance name: lower case, digits, _ or -")
    scaffold.add_argument(
        "--config", type=Path, default=Path("strategies.toml"), help="strategies file (created if absent)"
    )
    scaffold.add_argument("--dir", type=Path, default=Path("strategies"), help="folder for the module")
    scaffold.add_argument("--tests", type=Path, default=Path("tests/strategies"), help="folder for its test")
    scaffold.add_argument("--symbols", default="BTC/USDT", help="symbols it subscribes to, comma-separated")
    scaffold.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.config import ConfigError
    from infra.scaffold.strategy import ScaffoldError, add_strategy

    try:
        made = add_strategy(args.name, args.config, args.dir, args.tests, symbol_list(args.symbols))
    except (ScaffoldError, ConfigError) as error:
        print(f"stds strategy add: {error}", file=sys.stderr)
        return 2
    print(f"wrote {made.module} and {made.test}; added to {made.config}:\n  {made.line}")
    print(f"try it: stds replay BARS.csv --config {made.config} --out out/{args.name}")
    return 0
