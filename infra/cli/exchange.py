"""`stds exchange`: serve recorded bars as a local Binance (websocket + REST) for tests and demos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import fault_rate, port, speed

if TYPE_CHECKING:
    from events.dead_letters import DeadLetterList
    from infra.cli.options import Commands
    from tools.local_exchange.server import LocalBinance


def add(commands: Commands) -> None:
    exchange = commands.add_parser(
        "exchange",
        help="serve recorded bars as a local Binance (websocket + REST) for tests and demos",
        formatter_class=DefaultsHelpFormatter,
    )
    exchange.add_argument("paths", nargs="+", type=Path, help="files or folders of recorded bars")
    exchange.add_argument("--host", default="127.0.0.1")
    exchange.add_argument("--port", type=port, default=8765)
    exchange.add_argument("--speed", type=speed, default=60.0, help="market time × this")
    exchange.add_argument("--faults", type=fault_rate, default=0.0, help="fault rate per message (0 = none)")
    exchange.add_argument("--seed", type=int, default=7, help="seed of the fault generator")
    exchange.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    local = open_local_exchange(args.paths, args.speed, args.faults, args.seed)

    async def serve() -> None:
        async with local.running(args.host, args.port) as (ws_url, rest_url):
            markets = ", ".join(sorted(local.tape.bars))
            print(f"local Binance: websocket {ws_url}  REST {rest_url}  markets {markets}  speed {args.speed}x")
            print(f"stream from it: stds run --ws-url {ws_url} --rest-url {rest_url} --symbols ... --strategy ...")
            account = local.orders.account  # the local account's keys are no secret: it holds no real money
            keys = f"STDS_EXCHANGE_API_KEY={account.api_key} STDS_EXCHANGE_SECRET={account.secret}"
            print(f"trade on it: {keys} stds run ... --broker ccxt --exchange-url {rest_url}")
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


def open_local_exchange(paths: list[Path], speed: float, fault_rate: float, seed: int) -> LocalBinance:
    """A local Binance serving the recorded bars in `paths`, with faults at `fault_rate` per message if any."""
    from events.dead_letters import DeadLetterList
    from producers.replay.sources import UnreadableSource, open_sources
    from tools.local_exchange.faults import FaultPlan
    from tools.local_exchange.server import LocalBinance
    from tools.local_exchange.tape import Tape

    refused = DeadLetterList()
    tape = Tape.of(open_sources(paths, refused, exchange="binance"))
    _report_refused(refused)
    if not tape.bars:
        named = ", ".join(map(str, paths))
        raise UnreadableSource(f"no bar could be read from {named}: give files of recorded bars")
    faults = FaultPlan.chaos(fault_rate, seed) if fault_rate else None
    return LocalBinance(tape, speed, faults)


def _report_refused(refused: DeadLetterList, shown: int = 10) -> None:
    """Rows the exchange will not serve, each with its file:line, so a hole in the market is never a surprise."""
    for letter in refused.letters[:shown]:
        print(f"stds exchange: refused {letter.origin}: {letter.error}", file=sys.stderr)
    if len(refused) > shown:
        print(f"stds exchange: ... and {len(refused) - shown} more refused rows", file=sys.stderr)
    if refused.letters:
        print(f"stds exchange: {len(refused)} refused rows are not served; the other bars are", file=sys.stderr)
