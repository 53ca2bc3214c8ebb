"""`stds cost`: the monthly AWS bill of the deployed stack, line by line, next to one always-on EC2 instance."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
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
        formatter_class=DefaultsHelpFormatter,
    )
    cost.add_argument("--symbols", type=int, help="symbols streamed (1m bars)")
    cost.add_argument("--strategies", type=int, help="strategy functions")
    cost.add_argument("--trades-per-day", type=Decimal, default=Decimal(10), help="per strategy and symbol")
    cost.add_argument("--timeframe", default="1m", help="the strategies' bars: a 1h strategy is invoked once an hour")
    cost.add_argument("--bus", choices=("eventbridge", "sns"), default="eventbridge", help="the stack's stds:bus")
    cost.add_argument(
        "--streamer-spot",
        action="store_true",
        help="price the streamer on Spot alone (stds deploy --streamer-spot); either way both prices are shown",
    )
    add_region_option(cost)
    cost.add_argument(
        "--sweep",
        type=sweep_size,
        metavar="ITEMSxBARS",
        help="instead: one `stds sweep --aws` of ITEMS parameter sets × windows over BARS bars each, e.g. 1000x525600",
    )
    cost.set_defaults(run=run)


def sweep_size(text: str) -> tuple[int, int]:
    items, _, bars = text.lower().replace("×", "x").partition("x")
    if not (items.strip().isdigit() and bars.strip().isdigit()) or int(items) < 1 or int(bars) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give ITEMSxBARS, two whole numbers, e.g. 1000x525600")
    return int(items), int(bars)


def run(args: argparse.Namespace) -> int:
    from events.timeframes import BAR_TIMEFRAMES
    from infra.cost.model import Sizes, ec2_bill, load_prices, serverless_bill

    if args.sweep is not None:
        print_sweep_estimate(*args.sweep, region=args.region)
        return 0
    if args.symbols is None or args.strategies is None:
        print("stds cost: give --symbols and --strategies (the stack), or --sweep ITEMSxBARS", file=sys.stderr)
        return 2
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


def print_sweep_estimate(items: int, bars: int, *, region: str) -> Decimal:
    """The sweep's bill and wall time, printed (also before `stds sweep --aws` starts); returns the total."""
    from infra.cost.sweep import sweep_estimate, sweep_prices

    prices = sweep_prices(region)
    estimate = sweep_estimate(items, bars, prices)
    print(
        f"stds sweep --aws: {items:,} items × {bars:,} bars, {prices.region} prices of {prices.as_of} (USD): "
        f"{estimate.item_s:.2f} CPU s an item, {estimate.children:,} Lambda children of {estimate.items_per_child:,} "
        f"items, ~{estimate.wall_s:.0f} s of wall time"
    )
    _print_bill(estimate.lines, places=Decimal("0.001"))
    return estimate.usd


def _print_bill(lines: list[Line], places: Decimal = Decimal("0.01")) -> None:
    from decimal import ROUND_HALF_UP

    from infra.cost.model import total

    for line in lines:
        print(f"  {line.item:<30} {line.usd.quantize(places, ROUND_HALF_UP):>9}  {line.detail}")
    print(f"  {'total':<30} {total(lines).quantize(places, ROUND_HALF_UP):>9}")
