"""What several commands share: argument types, option groups, and turning parsed options into settings."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from infra.config import StdsConfig
    from producers.streamer.supervisor import StreamerSettings

    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_REGION = "ap-northeast-1"  # Binance answers US addresses with HTTP 451; its own servers are in Tokyo
# market time × speed: slower than 1/1000 a minute bar would take 17 hours; faster than 1e9 no clock can tell
MIN_SPEED, MAX_SPEED = 0.001, 1e9


def decimal_number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def speed(text: str) -> float:
    """`--speed`: how many times faster than the market's own time bars are released."""
    return _within(text, MIN_SPEED, MAX_SPEED, "a speed is a factor of market time", "3600: an hour a second")


def speed_or_zero(text: str) -> float:
    """`--speed` where 0 means as fast as possible."""
    return 0.0 if _float_or_nan(text) == 0 else speed(text)


def seconds(text: str) -> float:
    """A duration or interval: a finite number of seconds above 0 (NaN would never end, 0 would spin)."""
    return _within(text, 0.001, 1e9, "seconds", "60: a minute")


def fault_rate(text: str) -> float:
    """Faults per message, from 0 (none) to 1 (every one)."""
    return _within(text, 0.0, 1.0, "a fault rate per message", "0.05: one in twenty")


def port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is from 0 to 65535 (0: any free one)")
    return number


def _within(text: str, low: float, high: float, what: str, example: str) -> float:
    value = _float_or_nan(text)
    if not low <= value <= high:  # NaN, infinities and negatives fail this too
        raise argparse.ArgumentTypeError(f"{text!r}: {what} from {low:g} to {high:g} (e.g. {example})")
    return value


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def epoch_ms(text: str) -> int:
    from producers.replay.ohlcv_csv import parse_timestamp

    return parse_timestamp(text.replace("T", " ").removesuffix("Z"))


def symbol_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def add_timeframe_option(parser: argparse.ArgumentParser) -> None:
    from events.timeframes import BAR_TIMEFRAMES  # a dict and a tuple: nothing slow to import

    parser.add_argument(
        "--timeframe",
        choices=BAR_TIMEFRAMES,
        metavar="TF",
        help="the strategy's bars (default 1m; with --config it replaces every line's): "
        f"{', '.join(BAR_TIMEFRAMES)}; above 1m they are built from the closed minutes",
    )


def add_paper_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fee-bps", type=decimal_number, help="paper broker fee in basis points (default 10)")
    parser.add_argument("--slippage-bps", type=decimal_number, help="paper broker slippage in basis points (default 0)")
    parser.add_argument("--cash", type=decimal_number, help="starting cash per sub-account (default 100000)")
    parser.add_argument(
        "--stake", help="with --strategy: size each entry in the quote ('1000 USDT') or in equity ('10%%'), not qty"
    )


def add_broker_options(command: argparse.ArgumentParser) -> None:
    """Where orders go; each overrides the strategies file's [broker] table."""
    broker = command.add_argument_group("broker", "where orders go (defaults: the [broker] table, else paper)")
    broker.add_argument("--broker", choices=["paper", "ccxt"], help="paper fills, or real orders through ccxt")
    net = broker.add_mutually_exclusive_group()
    net.add_argument("--sandbox", dest="live", action="store_false", default=None, help="the exchange's testnet")
    net.add_argument("--live", dest="live", action="store_true", help="REAL MONEY: the exchange itself")
    broker.add_argument("--key-file", type=Path, help='JSON {"apiKey", "secret"} outside the repo, chmod 600')
    broker.add_argument("--exchange-url", help="a Binance-compatible REST base for orders (e.g. `stds exchange`)")


def add_risk_options(command: argparse.ArgumentParser) -> None:
    """The default risk limits, over the strategies file's [risk] table (a --live run needs both)."""
    risk = command.add_argument_group("risk", "limits of every sub-account (defaults: the [risk] table, else none)")
    risk.add_argument("--max-position", type=decimal_number, help="largest position, in base units")
    risk.add_argument("--max-order-notional", type=decimal_number, help="largest order, qty × price in quote")


def with_risk_args(config: StdsConfig, args: argparse.Namespace) -> StdsConfig:
    """The [risk] table with --max-position and --max-order-notional over it."""
    from consumers.execution.risk import RiskLimits
    from infra.config import table_from_options

    overrides = _given({"max_position": args.max_position, "max_order_notional": args.max_order_notional})
    if not overrides:
        return config
    values = {**config.risk.model_dump(), **overrides}
    risk = table_from_options(RiskLimits, values, "--max-position/--max-order-notional")
    return config.model_copy(update={"risk": risk})


def add_streamer_options(command: argparse.ArgumentParser) -> None:
    """What `stds run` and `stds stream` both need to hold the exchange's candle streams."""
    command.add_argument("--symbols", required=True, help="ccxt symbols to stream, e.g. BTC/USDT,ETH/USDT")
    command.add_argument("--exchange", default="binance", choices=["binance", "okx"], help="whose candle stream")
    command.add_argument("--ws-url", help="websocket base, e.g. ws://127.0.0.1:8765; none: the exchange's public one")
    command.add_argument("--rest-url", help="REST base for backfill, e.g. http://127.0.0.1:8765")
    command.add_argument("--since", help="first run only: backfill from this UTC time (ISO) or epoch ms")
    command.add_argument("--duration", type=seconds, help="stop after this many seconds")
    command.add_argument("--silence", type=seconds, default=60.0, help="seconds without a message before reconnecting")
    command.add_argument("--heartbeat", type=seconds, default=60.0, help="seconds between health log lines")


def add_region_option(command: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    command.add_argument(
        "--region",
        default=DEFAULT_REGION,
        help="AWS region; Binance refuses US addresses (HTTP 451) and runs in Tokyo, hence ap-northeast-1",
    )


def streamer_settings(args: argparse.Namespace) -> StreamerSettings:
    from producers.streamer.connection import ConnectionSettings
    from producers.streamer.supervisor import StreamerSettings

    return StreamerSettings(
        symbols=tuple(symbol_list(args.symbols)),
        ws_url=args.ws_url,
        rest_url=args.rest_url,
        start_ms=epoch_ms(args.since) if args.since else None,
        heartbeat_s=args.heartbeat,
        connection=ConnectionSettings(silence_s=args.silence),
    )


def config_from_args(args: argparse.Namespace, strategy_symbols: str | None) -> tuple[StdsConfig, Path]:
    """The strategies file (--config), or the one strategy of --strategy/--param; with the paper options over it."""
    # here, not at the top: the configuration's pydantic models are slow to import and `stds --help` needs none
    from infra.config import ConfigError, StdsConfig, StrategyLine, load_config

    if args.config:
        config, config_dir = load_config(args.config), args.config.parent
        if args.param or args.stake:
            raise ConfigError("--param and --stake go with --strategy; put them in the --config file instead")
    else:
        params = dict(_key_value(item) for item in args.param)
        symbols = strategy_symbols.split(",") if strategy_symbols else None
        name = args.strategy.rpartition(":")[2].rpartition("/")[2].removesuffix(".py").lower()
        config = StdsConfig(
            strategies={name: StrategyLine(use=args.strategy, symbols=symbols, params=params, stake=args.stake)}
        )
        config_dir = Path.cwd()
    if getattr(args, "timeframe", None):  # stds sweep has no --timeframe: its lines say theirs
        config = _on_timeframe(config, args.timeframe)
    return with_paper_args(config, args), config_dir


def with_paper_args(config: StdsConfig, args: argparse.Namespace) -> StdsConfig:
    """The [paper] table with --fee-bps, --slippage-bps and --cash over it."""
    from infra.config import PaperConfig, table_from_options

    paper = _given({"fee_bps": args.fee_bps, "slippage_bps": args.slippage_bps, "starting_cash": args.cash})
    if not paper:
        return config
    origin = "--fee-bps/--slippage-bps/--cash"
    settings = table_from_options(PaperConfig, {**config.paper.model_dump(), **paper}, origin)
    return config.model_copy(update={"paper": settings})


def _on_timeframe(config: StdsConfig, timeframe: str) -> StdsConfig:
    """Every strategy line on `timeframe` (--timeframe); a line with its own pattern says its timeframe there."""
    from infra.config import ConfigError, StrategyLine, table_from_options

    explicit = [name for name, line in config.strategies.items() if line.pattern is not None]
    if explicit:
        raise ConfigError(f"--timeframe: strategies {', '.join(explicit)} give their own pattern; set it there")
    lines = {  # validated again: the new timeframe may be one the line reads as informative
        name: table_from_options(
            StrategyLine, {**line.model_dump(), "timeframe": timeframe}, f"--timeframe: strategies.{name}"
        )
        for name, line in config.strategies.items()
    }
    return config.model_copy(update={"strategies": lines})


def with_broker_args(config: StdsConfig, args: argparse.Namespace) -> StdsConfig:
    """The [broker] table with --broker, --sandbox/--live, --key-file and --exchange-url over it."""
    given = {"kind": args.broker, "live": args.live, "key_file": args.key_file, "rest_url": args.exchange_url}
    overrides = _given(given)
    if not overrides:
        return config
    broker = config.broker.model_validate({**config.broker.model_dump(), **overrides})
    return config.model_copy(update={"broker": broker})


def print_summary(summary: dict[str, Any], out: Path, *, chart: bool = True) -> None:
    from infra.report.money import money
    from infra.report.tables import summary_places, summary_tables

    tables = summary_tables(summary)
    if tables:
        print(tables, end="\n\n")
    places = summary_places(summary)

    def shown(amount: str | None) -> str | None:
        return None if amount is None else money(amount, places)

    rows = [
        ("bars", summary.get("bars")),
        ("trades", summary.get("trades")),
        ("rejects", summary.get("rejects")),
        ("pnl", shown(summary.get("pnl"))),
        ("round trips", summary.get("round_trips")),
        ("capital", shown(summary.get("capital"))),
        ("return %", summary.get("return_pct")),
        ("max drawdown", shown(summary.get("max_drawdown"))),
        ("max drawdown %", summary.get("max_drawdown_pct")),
        (f"sharpe ({summary.get('timeframe')} bars)", summary.get("sharpe")),
        ("sortino", summary.get("sortino")),
        ("fees", shown(summary.get("fees"))),
        ("bars/s", summary.get("bars_per_second")),
        ("dead letters", summary.get("dead_letters")),
        ("gaps", summary.get("gaps")),
    ]
    rows += [(f"rejected: {reason}", count) for reason, count in summary.get("rejects_by_reason", {}).items()]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:>{width}}  {value}")
    files = f"trades.csv, equity.csv, summary.json{', chart.png' if chart else ''}"
    print(f"{'report':>{width}}  {out}/ ({files})")
    for warning in summary.get("warnings", ()):
        print(f"stds: warning: {warning}", file=sys.stderr)


def _given(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def _key_value(item: str) -> tuple[str, str]:
    from infra.config import ConfigError  # as in config_from_args, its only caller

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. --param fast=10")
    return key.strip(), value.strip()
