"""`stds replay`: recorded bars through strategies and paper execution, or the AWS archive through the stack."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import (
    add_paper_options,
    add_timeframe_option,
    config_from_args,
    epoch_ms,
    print_summary,
    speed_or_zero,
)

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    replay = commands.add_parser(
        "replay",
        help="backtest: replay recorded bars through strategies and paper execution",
        description=(
            "Replay recorded bars (Binance kline CSVs, ccxt OHLCV CSVs, or JSON Lines recorded by stds) "
            "through the same bus, strategy consumers and execution as live trading, then write "
            "trades.csv, equity.csv, summary.json and chart.png to --out."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    replay.add_argument("paths", nargs="*", type=Path, help="files or folders of recorded bars")
    chosen = replay.add_mutually_exclusive_group()
    chosen.add_argument("--strategy", help="one strategy: a built-in name (see `stds strategies`) or module:Class")
    chosen.add_argument("--config", type=Path, help="TOML file with several strategies (see strategies.example.toml)")
    replay.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter (repeatable)"
    )
    replay.add_argument("--symbols", help="with --strategy: only these symbols, e.g. BTC/USDT,ETH/USDT")
    replay.add_argument("--out", type=Path, default=Path("out/replay"), help="folder for the report")
    replay.add_argument("--db", type=Path, help="state file (default OUT/state.sqlite; ':memory:' keeps none)")
    earlier = replay.add_mutually_exclusive_group()
    earlier.add_argument("--resume", action="store_true", help="continue the run whose state the state file holds")
    earlier.add_argument("--fresh", action="store_true", help="discard the state file's earlier run and start over")
    replay.add_argument(
        "--from", dest="start", help="only bars opening at or after this UTC time (ISO, e.g. 2026-11-01T00:00)"
    )
    replay.add_argument("--to", dest="end", help="only bars opening before this UTC time (with --archive: its range)")
    replay.add_argument("--speed", type=speed_or_zero, default=0.0, help="N× market time; 0 = as fast as possible")
    replay.add_argument("--record", type=Path, help="also write every routed event to this JSON Lines file")
    replay.add_argument("--exchange", help="exchange id for the bars when the path does not tell (e.g. binance)")
    replay.add_argument("--symbol", help="symbol for the bars when the file name does not tell (e.g. BTC/USDT)")
    add_timeframe_option(replay)
    add_paper_options(replay)
    archived = replay.add_argument_group(
        "on AWS", "replay the deployed bus's archived bars through the deployed functions instead (no PATHS)"
    )
    archived.add_argument("--archive", help="EventBridge archive name, e.g. stds-bars")
    archived.add_argument("--rule", action="append", default=[], help="only to this rule (repeatable); default all")
    archived.add_argument("--no-wait", action="store_true", help="start the replay and return")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument("--no-chart", action="store_true", help="skip chart.png")
    replay.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.archive:
        return _replay_archive(args)
    if not args.paths or not (args.strategy or args.config):
        print("stds replay: give PATHS and --strategy or --config (or --archive for the AWS archive)", file=sys.stderr)
        return 2
    from infra.local.replay import ReplayOptions, run_replay

    config, config_dir = config_from_args(args, strategy_symbols=args.symbols)
    summary = run_replay(
        ReplayOptions(
            paths=args.paths,
            config=config,
            config_dir=config_dir,
            out=args.out,
            db=args.db,
            resume=args.resume,
            fresh=args.fresh,
            speed=args.speed,
            record=args.record,
            exchange=args.exchange,
            symbol=args.symbol,
            from_ms=epoch_ms(args.start) if args.start else None,
            to_ms=epoch_ms(args.end) if args.end else None,
            progress=not args.no_progress and sys.stderr.isatty(),
            chart=not args.no_chart,
        )
    )
    print_summary(summary, args.out, chart=not args.no_chart)
    return 0


def _replay_archive(args: argparse.Namespace) -> int:
    import boto3

    from infra.aws.archive_replay import ReplayFailed, start_archive_replay, wait_for_replay

    if args.paths or args.strategy or args.config or not (args.start and args.end):
        print("stds replay --archive: give --from and --to, and no PATHS, --strategy or --config", file=sys.stderr)
        return 2
    start, end = (datetime.fromtimestamp(epoch_ms(t) / 1000, tz=UTC) for t in (args.start, args.end))
    client = boto3.client("events")
    try:
        name = start_archive_replay(client, args.archive, start, end, args.rule)
        print(f"replay {name} started: {start.isoformat()} → {end.isoformat()} from {args.archive}")
        if args.no_wait:
            return 0
        shown = wait_for_replay(
            client, name, lambda r: print(f"  {r['State']}, replayed up to {r.get('EventLastReplayedTime', '-')}")
        )
    except (ValueError, ReplayFailed, TimeoutError) as error:
        print(f"stds replay --archive: {error}", file=sys.stderr)
        return 1
    print(f"replay {name} {shown['State']}")
    return 0
