"""`stds cost`: the monthly AWS bill of the deployed stack, line by line, next to one always-on EC2 instance."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

from infra.cli.options import add_region_option

if TYPE_CHECKING:
    from infra.cli.options import Commands
    from infra.cost.model import Line


def add(commands: Commands) -> None:
    cost = commands.add_parser(
        "cost",
        help="the monthly AWS bill of the deployed stack, next to one always-on EC2 instance",
        description=(
            "Estimate the monthly AWS cost (on-demand list prices of the region, from infra/cost/prices-REGION.json, "
            "dated, each with its source) of streaming N symbols to M strategies, line by line, and compare it "
            "with one t4g.small instance running `stds run`. Every strategy is assumed to watch every symbol."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    cost.add_argument("--symbols", type=int, required=True, help="symbols streamed (1m bars)")
    cost.add_argument("--strategies", type=int, required=True, help="strategy functions")
    cost.add_argument("--trades-per-day", type=Decimal, default=Decimal(10), help="per strategy and symbol")
    cost.add_argument("--timeframe", default="1m", help="the strategies' bars: a 1h strategy is invoked once an hour")
    cost.add_argument("--bus", choices=("eventbridge", "sns"), default="eventbridge", help="the stack's stds:bus")
    cost.add_argument(
        "--streamer-spot",
        action="store_true",
        help="price the streamer on Spot alone (stds deploy --streamer-spot); either way both prices are shown",
    )
    add_region_option(cost)
    cost.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from events.timeframes import BAR_TIMEFRAMES
    from infra.cost.model import Sizes, ec2_bill, load_prices, serverless_bill

    if args.symbols < 1 or args.strategies < 1:
        print("stds cost: --symbols and --strategies must be at least 1", file=sys.stderr)
        return 2
    if args.timeframe not in BAR_TIMEFRAMES:
        print(f"stds cost: --timeframe {args.timeframe}: one of {', '.join(BAR_TIMEFRAMES)}", file=sys.stderr)
        return 2
    prices = load_prices(args.region)
    sizes = Sizes(
        args.symbols,
        args.strategies,
        args.trades_per_day,
        bus=args.bus,
        spot=args.streamer_spot,
        timeframe=args.timeframe,
    )
    lines = serverless_bill(sizes, prices)
    shown = f"{args.symbols} symbols x {args.strategies} strategies on {args.timeframe} bars"
    print(f"STDS on AWS ({args.bus}), {shown}, {prices['region']} prices of {prices['as_of']} (USD/month)")
    _print_bill(lines)
    print("the same job on one always-on instance (stds run, SQLite):")
    _print_bill(ec2_bill(prices))
    return 0


def _print_bill(lines: list[Line]) -> None:
    from infra.cost.model import cents, total

    for line in lines:
        print(f"  {line.item:<30} {cents(line.usd):>9}  {line.detail}")
    print(f"  {'total':<30} {cents(total(lines)):>9}")
