"""`stds run`: live bars from an exchange (or a local Binance) through strategies and paper or ccxt orders."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import (
    add_broker_options,
    add_paper_options,
    add_risk_options,
    add_streamer_options,
    add_timeframe_option,
    config_from_args,
    fault_rate,
    print_summary,
    speed,
    streamer_settings,
    with_broker_args,
    with_risk_args,
)

if TYPE_CHECKING:
    from consumers.execution.ccxt_broker import Credentials
    from infra.cli.options import Commands
    from infra.config import StdsConfig


def add(commands: Commands) -> None:
    live = commands.add_parser(
        "run",
        help="live: stream bars from an exchange through strategies and paper execution, 24/7",
        description=(
            "Stream closed bars from Binance (default) or any Binance-compatible server through the same bus, "
            "strategies and paper execution as replay (1m bars, or 3m to 1d ones built from the closed minutes: "
            "--timeframe or a line's timeframe), keeping state in OUT/state.sqlite and the streamer's "
            "cursors in OUT/cursors.json, so a restart resumes without losing or doubling a bar. Stops cleanly "
            "on SIGTERM/Ctrl-C and writes the same report as replay."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    add_streamer_options(live)
    chosen = live.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--strategy", help="one strategy: a built-in name or module:Class")
    chosen.add_argument("--config", type=Path, help="TOML file with several strategies")
    live.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    live.add_argument("--out", type=Path, default=Path("out/live"), help="folder for state, cursors and report")
    live.add_argument("--db", type=Path, help="state file (default OUT/state.sqlite); a restart continues it")
    live.add_argument("--fresh", action="store_true", help="discard the state file's positions and start flat")
    live.add_argument("--record", type=Path, help="write every routed event to this JSON Lines file")
    live.add_argument("--no-print", action="store_true", help="do not print fills as they happen")
    add_timeframe_option(live)
    add_paper_options(live)
    live.add_argument(
        "--local-exchange",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="serve these recorded bars from a local Binance in this process and stream from it",
    )
    live.add_argument("--speed", type=speed, default=600.0, help="with --local-exchange: market time × this")
    live.add_argument("--faults", type=fault_rate, default=0.0, help="with --local-exchange: fault rate per message")
    add_broker_options(live)
    live.add_argument("--yes", action="store_true", help="with --live: trade without asking (for scripts)")
    add_risk_options(live)
    live.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace  # here, with the others: dataclasses imports inspect, slow for `stds --help`

    from infra.cli.exchange import open_local_exchange
    from infra.local.live import LiveOptions, run_live

    config, config_dir = config_from_args(args, strategy_symbols=None)
    config = with_risk_args(with_broker_args(config, args), args)
    stream = streamer_settings(args)
    credentials = _check_broker(config, config_dir, stream.symbols, args)
    local = open_local_exchange(args.local_exchange, args.speed, args.faults, 7) if args.local_exchange else None
    if local is not None and stream.start_ms is None:
        stream = replace(stream, start_ms=local.tape.first_open_ms)
    options = LiveOptions(
        config=config,
        config_dir=config_dir,
        stream=stream,
        out=args.out,
        exchange=args.exchange,
        db=args.db,
        fresh=args.fresh,
        record=args.record,
        duration_s=args.duration,
        print_trades=not args.no_print,
        credentials=credentials,
    )
    summary = asyncio.run(run_live(options, local))
    print_summary(summary, args.out)
    return 0


def _check_broker(
    config: StdsConfig, config_dir: Path, symbols: Sequence[str], args: argparse.Namespace
) -> Credentials | None:
    """The safety rails before anything starts: a live run is explicit, limited, shown, confirmed, and has
    keys the exchange takes. Returns the credentials to trade with (None: paper, or the local exchange's)."""
    from infra.local.trading import ccxt_broker, check_keys, check_live, confirm_live, live_banner

    local_exchange = bool(args.local_exchange)
    check_live(config, symbols, local_exchange)
    if config.broker.kind != "ccxt" or local_exchange:
        return None
    from infra.local.exchange_keys import load_credentials
    from infra.strategy_loader import load_strategies

    credentials = load_credentials(config.broker.key_file)
    check_keys(ccxt_broker(config.broker, credentials, None))
    if config.broker.live:
        specs = load_strategies(config, config_dir)
        print(live_banner(config, specs, "binance", symbols), file=sys.stderr)
        confirm_live(yes=args.yes, on_terminal=sys.stdin.isatty() and sys.stderr.isatty())
    else:
        print(
            f"stds: trading on the {config.broker.exchange} testnet (sandbox); --live for real money", file=sys.stderr
        )
    return credentials
