"""The `stds` command: replay recorded bars, export event schemas, inspect and halt the book."""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from infra.config import ConfigError, StdsConfig, StrategyConfig, load_config, paper_config

log = logging.getLogger("stds")

DEFAULT_REGION = "ap-northeast-1"  # Binance answers US addresses with HTTP 451; its own servers are in Tokyo
DEAD_LETTERS_VARIABLE = "STDS_DEAD_LETTERS"  # the streamer image sets a writable place: its /app is read-only

EPILOG = """\
examples:
  stds run --symbols BTC/USDT,ETH/USDT --strategy sma_cross --out out/live      # live, Binance public streams
  stds run --symbols BTC/USDT --strategy sma_cross --local-exchange DATA --speed 3600  # against recorded bars
  stds replay ../shared/data/binance/spot/klines/1m/BTCUSDT --strategy sma_cross --param fast=10 --out out/sma
  stds replay DATA_DIR --config strategies.toml --out out/many      # several strategies from a file
  stds strategies                                                    # built-in strategies and their parameters
  stds schema --out schemas/                                         # JSON Schema of every event
  stds halt --db out/sma/state.sqlite --reason "exchange incident"   # global kill switch
  stds deploy --strategies strategies.toml --alarm-email you@example.com   # to AWS, ap-northeast-1
  stds dlq list --prefix stds-                                       # what the deployment failed to handle
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from infra.logs import configure_logging

    configure_logging(args.log_level, args.log_format)
    try:
        result: int = args.run(args)
        return result
    except (ConfigError, FileNotFoundError, ValueError) as error:
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
    except KeyboardInterrupt:
        print("stds: interrupted; state is committed up to the last bar fully handled", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stds",
        description="Systematic Trading Done Serverless: event-driven crypto trading, embedded or on AWS.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default), ERROR")
    parser.add_argument("--log-format", choices=["text", "json"], default="text", help="log lines as text or JSON")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    _add_replay_command(commands)
    _add_run_command(commands)
    _add_stream_command(commands)
    _add_cost_command(commands)
    _add_strategy_command(commands)
    _add_cdk_commands(commands)
    _add_dlq_command(commands)
    _add_exchange_command(commands)
    _add_strategies_command(commands)
    _add_schema_command(commands)
    _add_holdings_command(commands)
    _add_reconcile_command(commands)
    _add_halt_command(commands)
    _add_resume_command(commands)
    _add_dashboard_command(commands)
    return parser


def _add_replay_command(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="backtest: replay recorded bars through strategies and paper execution",
        description=(
            "Replay recorded bars (Binance kline CSVs, ccxt OHLCV CSVs, or JSON Lines recorded by stds) "
            "through the same bus, strategy consumers and execution as live trading, then write "
            "trades.csv, equity.csv, summary.json and chart.png to --out."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
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
    replay.add_argument("--speed", type=float, default=0.0, help="N× market time; 0 = as fast as possible")
    replay.add_argument("--record", type=Path, help="also write every routed event to this JSON Lines file")
    replay.add_argument("--exchange", help="exchange id for the bars when the path does not tell (e.g. binance)")
    replay.add_argument("--symbol", help="symbol for the bars when the file name does not tell (e.g. BTC/USDT)")
    _add_paper_options(replay)
    archived = replay.add_argument_group(
        "on AWS", "replay the deployed bus's archived bars through the deployed functions instead (no PATHS)"
    )
    archived.add_argument("--archive", help="EventBridge archive name, e.g. stds-bars")
    archived.add_argument("--from", dest="start", help="first bar time, UTC ISO (e.g. 2026-11-01T00:00)")
    archived.add_argument("--to", dest="end", help="end of the range, UTC ISO")
    archived.add_argument("--rule", action="append", default=[], help="only to this rule (repeatable); default all")
    archived.add_argument("--no-wait", action="store_true", help="start the replay and return")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument("--no-chart", action="store_true", help="skip chart.png")
    replay.set_defaults(run=_replay)


def _add_run_command(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="live: stream bars from an exchange through strategies and paper execution, 24/7",
        description=(
            "Stream closed 1m bars from Binance (default) or any Binance-compatible server through the same bus, "
            "strategies and paper execution as replay, keeping state in OUT/state.sqlite and the streamer's "
            "cursors in OUT/cursors.json, so a restart resumes without losing or doubling a bar. Stops cleanly "
            "on SIGTERM/Ctrl-C and writes the same report as replay."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_streamer_options(run)
    chosen = run.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--strategy", help="one strategy: a built-in name or module:Class")
    chosen.add_argument("--config", type=Path, help="TOML file with several strategies")
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    run.add_argument("--out", type=Path, default=Path("out/live"), help="folder for state, cursors and report")
    run.add_argument("--db", type=Path, help="state file (default OUT/state.sqlite); a restart continues it")
    run.add_argument("--fresh", action="store_true", help="discard the state file's positions and start flat")
    run.add_argument("--record", type=Path, help="write every routed event to this JSON Lines file")
    run.add_argument("--no-print", action="store_true", help="do not print fills as they happen")
    _add_paper_options(run)
    run.add_argument(
        "--local-exchange", nargs="+", type=Path, metavar="PATH",
        help="serve these recorded bars from a local Binance in this process and stream from it",
    )  # fmt: skip
    run.add_argument("--speed", type=float, default=600.0, help="with --local-exchange: market time × this")
    run.add_argument("--faults", type=float, default=0.0, help="with --local-exchange: fault rate per message")
    _add_broker_options(run)
    run.set_defaults(run=_run)


def _add_broker_options(command: argparse.ArgumentParser) -> None:
    """Where orders go; each overrides the strategies file's [broker] table."""
    broker = command.add_argument_group("broker", "where orders go (defaults: the [broker] table, else paper)")
    broker.add_argument("--broker", choices=["paper", "ccxt"], help="paper fills, or real orders through ccxt")
    net = broker.add_mutually_exclusive_group()
    net.add_argument("--sandbox", dest="live", action="store_false", default=None, help="the exchange's testnet")
    net.add_argument("--live", dest="live", action="store_true", help="REAL MONEY: the exchange itself")
    broker.add_argument("--key-file", type=Path, help='JSON {"apiKey", "secret"} outside the repo, chmod 600')
    broker.add_argument("--exchange-url", help="a Binance-compatible REST base for orders (e.g. `stds exchange`)")


def _add_exchange_command(commands: Any) -> None:
    exchange = commands.add_parser(
        "exchange",
        help="serve recorded bars as a local Binance (websocket + REST) for tests and demos",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    exchange.add_argument("paths", nargs="+", type=Path, help="files or folders of recorded bars")
    exchange.add_argument("--host", default="127.0.0.1")
    exchange.add_argument("--port", type=int, default=8765)
    exchange.add_argument("--speed", type=float, default=60.0, help="market time × this")
    exchange.add_argument("--faults", type=float, default=0.0, help="fault rate per message (0 = none)")
    exchange.add_argument("--seed", type=int, default=7, help="seed of the fault generator")
    exchange.set_defaults(run=_exchange)


def _add_strategies_command(commands: Any) -> None:
    strategies = commands.add_parser("strategies", help="list the built-in strategies and their parameters")
    strategies.set_defaults(run=_strategies)


def _add_schema_command(commands: Any) -> None:
    schema = commands.add_parser("schema", help="write the JSON Schema of every event (or print them)")
    schema.add_argument("--out", type=Path, help="folder to write one <DetailType>.json per event")
    schema.set_defaults(run=_schema)


def _add_holdings_command(commands: Any) -> None:
    holdings = commands.add_parser("holdings", help="show positions, cash and fees per sub-account in a state file")
    holdings.add_argument("--db", type=Path, required=True, help="state file, e.g. out/replay/state.sqlite")
    holdings.set_defaults(run=_holdings)


def _add_reconcile_command(commands: Any) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="compare the book with the exchange once, settle what the book missed, halt on what is unexplained",
        description=(
            "Fetch the exchange's balances, open orders and the state of every unsettled order; settle pending "
            "orders older than the deadline from the exchange's answer; compare each asset with the sum of the "
            "sub-accounts plus the configured baseline; engage the kill switch naming what differs. The result "
            "is kept in the state file (`stds holdings` shows it). Exit 0 when everything agrees, 1 otherwise."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    reconcile.add_argument("--db", type=Path, required=True, help="state file of a `stds run`")
    reconcile.add_argument("--config", type=Path, required=True, help="the strategies file the run uses")
    reconcile.add_argument("--symbols", help="the run's symbols (default: those the strategies name)")
    _add_broker_options(reconcile)
    reconcile.set_defaults(run=_reconcile)


def _add_halt_command(commands: Any) -> None:
    halt = commands.add_parser("halt", help="engage the global kill switch: execution rejects every order")
    halt.add_argument("--db", type=Path, required=True)
    halt.add_argument("--reason", default="halted by operator")
    halt.set_defaults(run=_halt)


def _add_resume_command(commands: Any) -> None:
    resume = commands.add_parser("resume", help="release the global kill switch")
    resume.add_argument("--db", type=Path, required=True)
    resume.set_defaults(run=_release)


def _add_dashboard_command(commands: Any) -> None:
    dashboard = commands.add_parser(
        "dashboard",
        help="a live page in the browser: holdings, PnL, fills, stream health, halt/resume",
        description=(
            "Serve a page that updates itself while a run goes on (or shows a finished replay). It listens on "
            "127.0.0.1 and prints a token that every request needs; set STDS_DASHBOARD_TOKEN to choose it, which "
            "a --host other than loopback requires."
        ),
    )
    where = dashboard.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="state file of `stds run` or `stds replay`, e.g. out/live/state.sqlite")
    where.add_argument("--aws", action="store_true", help="read the DynamoDB tables with your AWS credentials")
    dashboard.add_argument("--table-prefix", default="stds-", help="with --aws: the tables' prefix (default stds-)")
    dashboard.add_argument(
        "--bar-bucket", help="with --aws: the streamer's bar bucket (default: the stack's, <prefix>bars-ACCOUNT-REGION)"
    )
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    dashboard.add_argument("--port", type=int, default=8050, help="port (default 8050; 0 picks a free one)")
    dashboard.add_argument("--poll", type=float, help="seconds between looks at the state (default 0.5, --aws 5)")
    dashboard.set_defaults(run=_dashboard)


def _add_paper_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fee-bps", type=_decimal, help="paper broker fee in basis points (default 10)")
    parser.add_argument("--slippage-bps", type=_decimal, help="paper broker slippage in basis points (default 0)")
    parser.add_argument("--cash", type=_decimal, help="starting cash per sub-account (default 100000)")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _replay(args: argparse.Namespace) -> int:
    if args.archive:
        return _replay_archive(args)
    if not args.paths or not (args.strategy or args.config):
        print("stds replay: give PATHS and --strategy or --config (or --archive for the AWS archive)", file=sys.stderr)
        return 2
    from infra.local.replay import ReplayOptions, run_replay

    config, config_dir = _config_from_args(args, strategy_symbols=args.symbols)
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
            progress=not args.no_progress and sys.stderr.isatty(),
            chart=not args.no_chart,
        )
    )
    _print_summary(summary, args.out)
    return 0


def _config_from_args(args: argparse.Namespace, strategy_symbols: str | None) -> tuple[StdsConfig, Path]:
    if args.config:
        config, config_dir = load_config(args.config), args.config.parent
        if args.param:
            raise ConfigError("--param goes with --strategy; put parameters in the --config file instead")
    else:
        params = dict(_key_value(item) for item in args.param)
        symbols = strategy_symbols.split(",") if strategy_symbols else None
        name = args.strategy.rpartition(":")[2].rpartition("/")[2].removesuffix(".py").lower()
        config = StdsConfig(strategies={name: StrategyConfig(use=args.strategy, symbols=symbols, params=params)})
        config_dir = Path.cwd()
    overrides = {
        key: value
        for key, value in (
            ("fee_bps", args.fee_bps),
            ("slippage_bps", args.slippage_bps),
            ("starting_cash", args.cash),
        )
        if value is not None
    }
    if overrides:
        paper = paper_config({**config.paper.model_dump(), **overrides}, "--fee-bps/--slippage-bps/--cash")
        config = config.model_copy(update={"paper": paper})
    return config, config_dir


def _add_streamer_options(command: argparse.ArgumentParser) -> None:
    """What `stds run` and `stds stream` both need to hold the exchange's candle streams."""
    command.add_argument("--symbols", required=True, help="ccxt symbols to stream, e.g. BTC/USDT,ETH/USDT")
    command.add_argument("--exchange", default="binance", choices=["binance", "okx"], help="whose candle stream")
    command.add_argument("--ws-url", help="websocket base, e.g. ws://127.0.0.1:8765; none: the exchange's public one")
    command.add_argument("--rest-url", help="REST base for backfill, e.g. http://127.0.0.1:8765")
    command.add_argument("--since", help="first run only: backfill from this UTC time (ISO) or epoch ms")
    command.add_argument("--duration", type=float, help="stop after this many seconds")
    command.add_argument("--silence", type=float, default=60.0, help="seconds without a message before reconnecting")
    command.add_argument("--heartbeat", type=float, default=60.0, help="seconds between health log lines")


def _streamer_settings(args: argparse.Namespace) -> Any:
    from producers.streamer.connection import ConnectionSettings
    from producers.streamer.streamer import StreamerSettings

    return StreamerSettings(
        symbols=tuple(s.strip() for s in args.symbols.split(",") if s.strip()),
        ws_url=args.ws_url,
        rest_url=args.rest_url,
        start_ms=_epoch_ms(args.since) if args.since else None,
        heartbeat_s=args.heartbeat,
        connection=ConnectionSettings(silence_s=args.silence),
    )


def _add_stream_command(commands: Any) -> None:
    stream = commands.add_parser(
        "stream",
        help="the AWS producer: stream closed bars to an EventBridge bus or SNS topic (what the Fargate task runs)",
        description=(
            "Stream closed 1m bars from Binance (default) or any Binance-compatible server and publish each once, "
            "in order per symbol, to an EventBridge bus or an SNS topic, where the strategy functions subscribe. "
            "Cursors are kept in the DynamoDB control table (--table-prefix) or a file, so a restarted task resumes "
            "where it stopped. AWS credentials and region come from the usual AWS environment."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_streamer_options(stream)
    target = stream.add_mutually_exclusive_group(required=True)
    target.add_argument("--event-bus", help="EventBridge bus name")
    target.add_argument("--sns-topic", help="SNS topic ARN (a .fifo topic keeps order per stream)")
    stream.add_argument("--table-prefix", help="keep cursors in the DynamoDB table <prefix>control")
    stream.add_argument("--cursors", type=Path, default=Path("out/stream/cursors.json"), help="cursor file otherwise")
    dead_letters = os.environ.get(DEAD_LETTERS_VARIABLE, "out/stream/dead-letters.jsonl")
    stream.add_argument(
        "--dead-letters", type=Path, default=Path(dead_letters),
        help=f"malformed exchange messages, one JSON line each (default from ${DEAD_LETTERS_VARIABLE}); "
        "each is also logged, so none is lost if this file cannot be written",
    )  # fmt: skip
    stream.add_argument(
        "--deployment", metavar="PREFIX",
        help="put the BarsDelivered metric (namespace STDS, dimension Deployment=PREFIX) once a minute; "
        "the stack's streamer-lag alarm watches it",
    )  # fmt: skip
    stream.add_argument("--bucket", help="S3 bucket of the bar archive: each minute's bars written there first")
    stream.add_argument(
        "--batch-wait", type=float, default=2.0, help="seconds after a minute's first bar before it goes out incomplete"
    )
    stream.add_argument("--trace-every", type=int, default=60, help="minutes between X-Ray traced batches; 0: none")
    stream.set_defaults(run=_stream)


def _stream(args: argparse.Namespace) -> int:
    import asyncio

    from infra.aws.stream import StreamOptions, run_stream

    options = StreamOptions(
        stream=_streamer_settings(args),
        event_bus=args.event_bus,
        topic_arn=args.sns_topic,
        table_prefix=args.table_prefix,
        cursors=args.cursors,
        dead_letters=args.dead_letters,
        exchange=args.exchange,
        duration_s=args.duration,
        deployment=args.deployment,
        bucket=args.bucket,
        batch_wait_s=args.batch_wait,
        trace_every_minutes=args.trace_every,
    )
    summary = asyncio.run(run_stream(options))
    print(" ".join(f"{name}={value}" for name, value in summary.items()))
    return 0 if summary["all_delivered"] else 1


def _replay_archive(args: argparse.Namespace) -> int:
    import boto3

    from infra.aws.archive_replay import ReplayFailed, start_archive_replay, wait_for_replay

    if args.paths or args.strategy or args.config or not (args.start and args.end):
        print("stds replay --archive: give --from and --to, and no PATHS, --strategy or --config", file=sys.stderr)
        return 2
    start, end = (datetime.fromtimestamp(_epoch_ms(t) / 1000, tz=UTC) for t in (args.start, args.end))
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


def _add_cdk_commands(commands: Any) -> None:
    for verb, what in (("deploy", "create or update the AWS stack"), ("diff", "show what a deploy would change")):
        command = commands.add_parser(
            verb,
            help=f"{what} (wraps the AWS CDK CLI)",
            description=(
                f"{what.capitalize()} for the strategies in --strategies, through the AWS CDK CLI: `cdk` on PATH "
                "(npm install -g aws-cdk), else `npx aws-cdk@2`. Needs AWS credentials, and `cdk bootstrap` once "
                "per account and region. Lambda code is bundled locally; the streamer image is built by Docker."
            ),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        command.add_argument("--strategies", type=Path, default=Path("strategies.toml"), help="the strategies file")
        command.add_argument("--prefix", default="stds-", help="names of the bus, tables and functions")
        command.add_argument("--symbols", default="", help="streamed besides the symbols the strategy lines name")
        command.add_argument("--bus", default="eventbridge", choices=["eventbridge", "sns"], help="the pub-sub service")
        _add_region_option(command)
        command.add_argument("--alarm-email", help="mail the alarms to this address (AWS asks it to confirm first)")
        command.add_argument("--dry-run", action="store_true", help="print the CDK command instead of running it")
        command.add_argument("cdk_args", nargs="*", metavar="-- CDK_ARGS", help="passed on to cdk")
        command.set_defaults(run=_cdk, verb=verb)


def _cdk(args: argparse.Namespace) -> int:
    import shlex
    import shutil
    import subprocess

    from infra.cdk.names import check_prefix

    if not args.strategies.exists():
        print(f"stds {args.verb}: {args.strategies} not found (start from strategies.example.toml)", file=sys.stderr)
        return 2
    check_prefix(args.prefix)  # before cdk starts: a bad prefix is one line, not a synth traceback
    installed = shutil.which("cdk")
    cdk = [installed] if installed else (["npx", "--yes", "aws-cdk@2"] if shutil.which("npx") else [])
    command = [
        *(cdk or ["cdk"]), args.verb, "--app", f"{shlex.quote(sys.executable)} -m infra.cdk.app",
        "--context", f"stds:prefix={args.prefix}", "--context", f"stds:symbols={args.symbols}",
        "--context", f"stds:bus={args.bus}",
        *(["--context", f"stds:alarmEmail={args.alarm_email}"] if args.alarm_email else []),
        # re-adopt the tables and the secret a destroyed (or rolled back) stack of this prefix left behind
        *(["--require-approval", "broadening", "--import-existing-resources"] if args.verb == "deploy" else []),
        *args.cdk_args,
    ]  # fmt: skip
    strategies = str(args.strategies.resolve())
    environment = {**os.environ, "STRATEGIES": strategies, "AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region}
    if args.dry_run:
        print(f"AWS_REGION={args.region} STRATEGIES={shlex.quote(strategies)} {shlex.join(command)}")
        return 0
    if not cdk:
        print(
            f"stds {args.verb}: neither cdk nor npx found: install Node.js, then npm install -g aws-cdk",
            file=sys.stderr,
        )
        return 2
    return subprocess.run(command, env=environment, check=False).returncode


def _add_region_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--region", default=DEFAULT_REGION,
        help="AWS region; Binance refuses US addresses (HTTP 451) and runs in Tokyo, hence ap-northeast-1",
    )  # fmt: skip


def _add_dlq_command(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="show or re-publish the events a deployment failed to handle (its failure queues)",
        description=(
            "The deployed stack keeps what failed in two SQS queues: events a function failed on after Lambda's "
            "retries (or that waited past their maximum age while throttled), and events the bus could not deliver. "
            "`list` shows them; `redrive` publishes their events on the bus again and deletes them. Consumers "
            "recognise what they already handled by the events' ids, so a redrive is safe."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--prefix", default="stds-", help="the deployment's prefix (as given to stds deploy)")
    _add_region_option(dlq)
    dlq.add_argument("--limit", type=int, default=1000, help="at most this many messages per queue")
    dlq.set_defaults(run=_dlq)


def _dlq(args: argparse.Namespace) -> int:
    import boto3

    from infra.aws.failed_events import read_queue, redrive, stack_outputs
    from infra.cdk.names import stack_name
    from infra.cdk.watch import FAILED_OUTPUT, UNDELIVERED_OUTPUT

    stack = stack_name(args.prefix)
    try:
        outputs = stack_outputs(boto3.client("cloudformation", region_name=args.region), stack)
    except LookupError as error:
        print(f"stds dlq: {error}", file=sys.stderr)
        return 2
    sqs = boto3.client("sqs", region_name=args.region)
    queues = {"failed invocations": outputs[FAILED_OUTPUT], "undelivered": outputs[UNDELIVERED_OUTPUT]}
    if args.action == "list":
        shown = [message for name, url in queues.items() for message in read_queue(sqs, url, name, args.limit)]
        for message in shown:
            print(message.line())
        print(f"{len(shown)} message(s) in the failure queues of {stack}")
        return 0
    bus = _deployed_bus(outputs, args.region)
    kept = []
    for name, url in queues.items():
        done = redrive(sqs, url, name, bus, args.limit)
        print(f"{name}: {done.republished} event(s) published again")
        kept.extend(done.kept)
    for message in kept:
        print(f"kept (cannot be read back as events): {message.line()}", file=sys.stderr)
    return 1 if kept else 0


def _deployed_bus(outputs: dict[str, str], region: str) -> Any:
    import boto3

    from events.eventbridge_bus import EventBridgeBus
    from events.sns_bus import SnsBus

    if "EventBus" in outputs:
        return EventBridgeBus(boto3.client("events", region_name=region), outputs["EventBus"])
    return SnsBus(boto3.client("sns", region_name=region), outputs["Topic"])


def _add_cost_command(commands: Any) -> None:
    cost = commands.add_parser(
        "cost",
        help="the monthly AWS bill of the deployed stack, next to one always-on EC2 instance",
        description=(
            "Estimate the monthly AWS cost (us-east-1, on-demand list prices from infra/cost/prices-us-east-1.json, "
            "dated) of streaming N symbols to M strategies, line by line, and compare it with one t4g.small "
            "instance running `stds run`. Every strategy is assumed to watch every symbol."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    cost.add_argument("--symbols", type=int, required=True, help="symbols streamed (1m bars)")
    cost.add_argument("--strategies", type=int, required=True, help="strategy functions")
    cost.add_argument("--trades-per-day", type=Decimal, default=Decimal(10), help="per strategy and symbol")
    cost.add_argument("--bus", choices=("eventbridge", "sns"), default="eventbridge", help="the stack's stds:bus")
    cost.set_defaults(run=_cost)


def _cost(args: argparse.Namespace) -> int:
    from infra.cost.model import Sizes, cents, ec2_bill, load_prices, serverless_bill, total

    if args.symbols < 1 or args.strategies < 1:
        print("stds cost: --symbols and --strategies must be at least 1", file=sys.stderr)
        return 2
    prices = load_prices()
    lines = serverless_bill(Sizes(args.symbols, args.strategies, args.trades_per_day, bus=args.bus), prices)
    ec2 = ec2_bill(prices)
    print(f"STDS on AWS ({args.bus}), {args.symbols} symbols x {args.strategies} strategies, "
          f"{prices['region']} prices of {prices['as_of']} (USD/month)")  # fmt: skip
    for line in lines:
        print(f"  {line.item:<30} {cents(line.usd):>9}  {line.detail}")
    print(f"  {'total':<30} {cents(total(lines)):>9}")
    print("the same job on one always-on instance (stds run, SQLite):")
    for line in ec2:
        print(f"  {line.item:<30} {cents(line.usd):>9}  {line.detail}")
    print(f"  {'total':<30} {cents(total(ec2)):>9}")
    return 0


def _add_strategy_command(commands: Any) -> None:
    strategy = commands.add_parser("strategy", help="work on your own strategies (stds strategy add NAME)")
    actions = strategy.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="scaffold a strategy module, its test and its line in the strategies file",
        description=(
            "Write DIR/NAME.py (a working strategy: long above its moving average, to edit), TESTS/test_NAME.py, "
            "and insert `NAME = { use = ..., symbols = [...] }` into the [strategies] table of --config. On AWS "
            "that line is one more function and rule at the next `stds deploy`."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add.add_argument("name", help="instance name: lower case, digits, _ or -")
    add.add_argument("--config", type=Path, default=Path("strategies.toml"), help="strategies file (created if absent)")
    add.add_argument("--dir", type=Path, default=Path("strategies"), help="folder for the module")
    add.add_argument("--tests", type=Path, default=Path("tests/strategies"), help="folder for its test")
    add.add_argument("--symbols", default="BTC/USDT", help="symbols it subscribes to, comma-separated")
    add.set_defaults(run=_strategy_add)


def _strategy_add(args: argparse.Namespace) -> int:
    from infra.config import ConfigError
    from infra.scaffold.strategy import ScaffoldError, add_strategy

    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    try:
        made = add_strategy(args.name, args.config, args.dir, args.tests, symbols)
    except (ScaffoldError, ConfigError) as error:
        print(f"stds strategy add: {error}", file=sys.stderr)
        return 2
    print(f"wrote {made.module} and {made.test}; added to {made.config}:\n  {made.line}")
    print(f"try it: stds replay BARS.csv --config {made.config} --out out/{args.name}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from infra.local.live import LiveOptions, run_live

    config, config_dir = _config_from_args(args, strategy_symbols=None)
    config = _with_broker_args(config, args)
    stream = _streamer_settings(args)
    credentials = _check_broker(config, stream.symbols, local_exchange=bool(args.local_exchange))
    local = _local_exchange(args.local_exchange, args.speed, args.faults, 7) if args.local_exchange else None
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
    _print_summary(summary, args.out)
    return 0


def _with_broker_args(config: StdsConfig, args: argparse.Namespace) -> StdsConfig:
    overrides = {
        key: value
        for key, value in (
            ("kind", args.broker), ("live", args.live), ("key_file", args.key_file), ("rest_url", args.exchange_url)
        )
        if value is not None
    }  # fmt: skip
    if not overrides:
        return config
    broker = config.broker.model_validate({**config.broker.model_dump(), **overrides})
    return config.model_copy(update={"broker": broker})


def _check_broker(config: StdsConfig, symbols: Sequence[str], *, local_exchange: bool) -> Any:
    """The safety rails before anything starts: a live run is explicit, shown, and has its keys.
    Returns the credentials to trade with (None: paper, or the local exchange's own account)."""
    from infra.local.trading import check_live, live_banner

    check_live(config, symbols, local_exchange)
    if config.broker.kind != "ccxt" or local_exchange:
        return None
    from infra.local.exchange_keys import load_credentials

    credentials = load_credentials(config.broker.key_file)
    if config.broker.live:
        print(live_banner(config, "binance", symbols), file=sys.stderr)
    else:
        print(
            f"stds: trading on the {config.broker.exchange} testnet (sandbox); --live for real money", file=sys.stderr
        )
    return credentials


def _reconcile(args: argparse.Namespace) -> int:
    import time

    import ccxt

    from consumers.reconciliation.reconciler import Reconciler, describe
    from infra.local.exchange_keys import load_credentials
    from infra.local.stores import sqlite_stores
    from infra.local.trading import ccxt_broker, sub_accounts

    config = _with_broker_args(load_config(args.config), args)
    symbols = (
        [s.strip() for s in args.symbols.split(",") if s.strip()]
        if args.symbols
        else sorted({symbol for line in config.strategies.values() for symbol in line.symbols or []})
    )
    if not args.db.exists():
        raise FileNotFoundError(f"{args.db}: no state file here (a `stds run` creates OUT/state.sqlite)")
    broker = ccxt_broker(config.broker, load_credentials(config.broker.key_file), None)
    stores = sqlite_stores(args.db, config.paper.starting_cash, 1)
    try:
        keys = sub_accounts(config, config.broker.exchange, symbols)
        result = Reconciler.of(stores, broker, config.broker.reconcile, keys).run(int(time.time() * 1000))
    except ccxt.AuthenticationError as error:  # ccxt's message quotes the exchange's answer, never the key
        raise ValueError(f"the exchange refused the keys: {error}") from None
    finally:
        stores.close()
    print("\n".join(describe(result.document())))
    return 0 if result.agrees else 1


def _exchange(args: argparse.Namespace) -> int:
    import asyncio

    local = _local_exchange(args.paths, args.speed, args.faults, args.seed)

    async def serve() -> None:
        async with local.running(args.host, args.port) as (ws_url, rest_url):
            markets = ", ".join(sorted(local.tape.bars))
            print(f"local Binance: websocket {ws_url}  REST {rest_url}  markets {markets}  speed {args.speed}x")
            print(f"stream from it: stds run --ws-url {ws_url} --rest-url {rest_url} --symbols ... --strategy ...")
            account = local.orders.account  # the local account's keys are no secret: it holds no real money
            print(f"trade on it: STDS_EXCHANGE_API_KEY={account.api_key} STDS_EXCHANGE_SECRET={account.secret} "
                  f"stds run ... --broker ccxt --exchange-url {rest_url}")  # fmt: skip
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


def _local_exchange(paths: list[Path], speed: float, fault_rate: float, seed: int) -> Any:
    from events.dead_letters import DeadLetterList
    from infra.local_exchange.faults import FaultPlan
    from infra.local_exchange.server import LocalBinance
    from infra.local_exchange.tape import Tape
    from producers.replay.sources import open_sources

    tape = Tape.of(open_sources(paths, DeadLetterList(), exchange="binance"))
    faults = FaultPlan.chaos(fault_rate, seed) if fault_rate else None
    return LocalBinance(tape, speed, faults)


def _epoch_ms(text: str) -> int:
    from producers.replay.ohlcv_csv import parse_timestamp

    return parse_timestamp(text.replace("T", " ").removesuffix("Z"))


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. --param fast=10")
    return key.strip(), value.strip()


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    rows = [
        ("bars", summary.get("bars")),
        ("trades", summary.get("trades")),
        ("rejects", summary.get("rejects")),
        ("pnl", summary.get("pnl")),
        ("return %", summary.get("return_pct")),
        ("max drawdown %", summary.get("max_drawdown_pct")),
        ("sharpe", summary.get("sharpe")),
        ("fees", summary.get("fees")),
        ("bars/s", summary.get("bars_per_second")),
        ("dead letters", summary.get("dead_letters")),
        ("gaps", summary.get("gaps")),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:>{width}}  {value}")
    print(f"{'report':>{width}}  {out}/ (trades.csv, equity.csv, summary.json, chart.png)")


def _strategies(args: argparse.Namespace) -> int:
    from consumers.strategies.builtin import BUILTIN

    for name, cls in sorted(BUILTIN.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name}: {doc}")
        for field, info in cls.Params.model_fields.items():
            print(f"    {field} = {info.default!s}  {info.description or ''}".rstrip())
    return 0


def _schema(args: argparse.Namespace) -> int:
    from events.schema import event_schemas

    schemas = event_schemas()
    if args.out is None:
        sys.stdout.write(orjson.dumps(schemas, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (args.out / f"{name}.json").write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {len(schemas)} schemas to {args.out}/")
    return 0


def _holdings(args: argparse.Namespace) -> int:
    from consumers.stores.sqlite import SqliteKillSwitch, SqliteReconciliationLog, open_existing, read_accounts

    connection = open_existing(args.db)
    try:
        accounts = read_accounts(connection)
        halted = SqliteKillSwitch(connection).engaged()
        last = SqliteReconciliationLog(connection).last()
    finally:
        connection.close()
    print(f"kill switch: {'ENGAGED (' + halted + ')' if halted else 'released'}")
    print(f"{'strategy':<20} {'symbol':<12} {'position':>12} {'pending':>10} {'cash':>18} {'fees':>14} fills")
    for account in sorted(accounts, key=lambda a: (a.key.strategy, a.key.symbol)):
        key = account.key
        paid_elsewhere = "".join(f"  + {paid} {asset} fees" for asset, paid in sorted(account.fee_assets.items()))
        print(
            f"{key.strategy:<20} {key.symbol:<12} {account.position!s:>12} {account.pending!s:>10} "
            f"{account.cash:>18.8f} {account.fees:>14.8f} {account.fills}{paid_elsewhere}"
        )
    if last is not None:
        from consumers.reconciliation.reconciler import describe

        print("\n".join(describe(orjson.loads(last))))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import asyncio

    from infra.dashboard.access import dashboard_token
    from infra.dashboard.run import serve
    from infra.dashboard.server import DashboardSettings
    from infra.dashboard.source import StateReader

    token, own = dashboard_token(args.host)
    if args.aws:
        import boto3

        from consumers.stores.dynamodb import TableNames
        from infra.cdk.names import bar_bucket_name
        from infra.dashboard.archive_reader import ArchiveReader
        from infra.dashboard.dynamodb_reader import DynamoReader

        session = boto3.session.Session()
        bucket = args.bar_bucket or bar_bucket_name(
            args.table_prefix, session.client("sts").get_caller_identity()["Account"], session.region_name
        )
        bars = ArchiveReader(session.client("s3"), bucket)
        reader: StateReader = DynamoReader(session.client("dynamodb"), TableNames.with_prefix(args.table_prefix), bars)
        settings = DashboardSettings(token, f"DynamoDB tables {args.table_prefix}*", args.poll or 5.0)
    else:
        from infra.dashboard.sqlite_reader import SqliteReader

        reader = SqliteReader(args.db)
        settings = DashboardSettings(token, str(args.db), args.poll or 0.5)
    asyncio.run(serve(reader, settings, args.host, args.port, show_token=not own))
    return 0


def _halt(args: argparse.Namespace) -> int:
    _flip_kill_switch(args.db, args.reason)
    print(f"kill switch engaged on {args.db}: every order will be rejected until `stds resume --db {args.db}`")
    return 0


def _release(args: argparse.Namespace) -> int:
    _flip_kill_switch(args.db, None)
    print(f"kill switch released on {args.db}")
    return 0


def _flip_kill_switch(db: Path, reason: str | None) -> None:
    """Only the control row is touched: the switch works whatever else the state file holds, and while
    a run holds the file (it reads the switch before every order)."""
    from consumers.stores.sqlite import SqliteKillSwitch, open_existing

    connection = open_existing(db)
    try:
        switch = SqliteKillSwitch(connection)
        if reason is None:
            switch.release()
        else:
            switch.engage(reason)
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
