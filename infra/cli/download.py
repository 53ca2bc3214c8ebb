"""`stds download`: history from the exchange (its public archive, then REST) into Parquet files `stds replay` reads."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from events.timeframes import TIMEFRAME_MS
from infra.cli.options import symbol_list

if TYPE_CHECKING:
    from infra.cli.options import Commands
    from producers.download.downloader import Downloader, DownloadReport

GAPS_SHOWN = 5
REFUSED_ROWS = "refused-rows.log"  # JSON lines, but not .jsonl: `stds replay OUT` would take it for a recording


def add(commands: Commands) -> None:
    download = commands.add_parser(
        "download",
        help="download history from the exchange into files `stds replay` reads",
        description=(
            "Download closed bars from Binance spot into Parquet files, one per market and month:\n"
            "  OUT/<exchange>/<timeframe>/<MARKET>/<MARKET>-<timeframe>-<YYYY-MM>.parquet\n"
            "Closed months and days come from Binance's public archive (data.binance.vision; each zip is checked\n"
            "against its SHA-256 CHECKSUM), the rest over REST within the exchange's request-weight limit.\n"
            "Running it again fetches only what is missing; a stopped (even killed) run picks up where it stopped.\n"
            "The candle still forming is never stored; bars the exchange itself lacks are reported, never made up."
        ),
        epilog=(
            "examples:\n"
            "  stds download --symbols BTC/USDT,ETH/USDT --since 2024-01-01 --out data\n"
            "  stds download --pairs '.*/USDC' --timeframe 1h --since 2024-01-01 --until 2024-07-01 --out data\n"
            "  stds replay data/binance/1m --strategy sma_cross --out out/sma"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument("--exchange", choices=["binance"], default="binance", help="exchange (default binance)")
    which = download.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbols", type=symbol_list, help="markets, e.g. BTC/USDT,ETH/USDT")
    which.add_argument("--pairs", help="every spot market whose symbol matches this regular expression, e.g. '.*/USDT'")
    download.add_argument(
        "--timeframe",
        choices=list(TIMEFRAME_MS),
        default="1m",
        metavar="TF",
        help=f"candle length: {', '.join(TIMEFRAME_MS)} (default 1m)",
    )
    download.add_argument("--since", required=True, help="first bar to fetch, UTC: YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    download.add_argument("--until", help="fetch bars opening before this UTC time (default: up to the last closed)")
    download.add_argument("--out", type=Path, default=Path("data"), help="folder of the files (default data)")
    download.add_argument(
        "--source",
        choices=["auto", "archive", "rest"],
        default="auto",
        help="auto (default): archive for closed months and days, REST for the rest; archive or rest: only that "
        "(the markets and the exchange's time always come from REST)",
    )
    download.add_argument("--archive-url", default="https://data.binance.vision", help="base URL of the archive")
    download.add_argument("--rest-url", help="base URL of the exchange's REST API (default Binance's own)")
    download.add_argument("--no-progress", action="store_true", help="no progress bar")
    download.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from events.dead_letters import DeadLetterFile
    from producers.download.archive import BinanceArchive
    from producers.download.downloader import Downloader, DownloadRequest
    from producers.download.rest import ExchangeBanned, ExchangeUnreachable, KlinesRest

    try:
        since_ms = _utc_ms("--since", args.since)
        until_ms = _utc_ms("--until", args.until) if args.until else None
    except ValueError as error:
        return _fail(str(error))
    if until_ms is not None and until_ms <= since_ms:
        return _fail(f"--until {args.until} is not after --since {args.since}; swap them or drop --until")
    rest = KlinesRest(args.rest_url)
    try:
        markets = _chosen(rest.markets(), args.symbols, args.pairs, rest.where)
        now_ms = rest.server_time_ms()
        request = DownloadRequest(args.exchange, markets, args.timeframe, since_ms, until_ms, args.out, args.source)
        dead_letters = DeadLetterFile(args.out / REFUSED_ROWS)
        downloader = Downloader(request, BinanceArchive(args.archive_url), rest, dead_letters, now_ms)
        started = time.monotonic()
        try:
            report = _with_progress(downloader, show=not args.no_progress and sys.stderr.isatty())
        finally:
            dead_letters.close()
    except ValueError as error:
        return _fail(str(error))
    except ExchangeUnreachable as error:
        return _fail(str(error), code=1)
    except ExchangeBanned as error:
        return _fail(str(error), code=1)
    _print_report(report, time.monotonic() - started, dead_letters.count, dead_letters.path)
    return 0


def _utc_ms(option: str, text: str) -> int:
    from infra.cli.options import epoch_ms
    from producers.replay.rows import InvalidBarRow

    try:
        return epoch_ms(text)
    except InvalidBarRow:
        raise ValueError(f"{option} {text!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None


def _chosen(markets: dict[str, str], symbols: list[str] | None, pairs: str | None, where: str) -> dict[str, str]:
    if pairs is not None:
        try:
            pattern = re.compile(pairs)
        except re.error as error:
            raise ValueError(f"--pairs {pairs!r} is not a regular expression ({error})") from None
        chosen = {symbol: market for symbol, market in markets.items() if pattern.fullmatch(symbol)}
        if not chosen:
            raise ValueError(f"--pairs {pairs!r} matches no spot market of {where}; symbols look like BTC/USDT")
        return chosen
    unknown = [symbol for symbol in symbols or [] if symbol.upper() not in markets]
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not a spot market of {where}; write symbols as BASE/QUOTE (BTC/USDT), "
            "or list matches with --pairs"
        )
    return {symbol.upper(): markets[symbol.upper()] for symbol in symbols or []}


def _with_progress(downloader: Downloader, show: bool) -> DownloadReport:
    if not show:
        return downloader.run()
    from tqdm import tqdm

    with tqdm(total=downloader.bars_to_fetch(), unit="bar", unit_scale=True, desc="download") as progress:
        return downloader.run(progress.update)


def _print_report(report: DownloadReport, seconds: float, dead_letters: int, dead_letter_path: Path) -> None:
    from producers.download.spans import shown

    for stream in report.streams:
        first, last = stream.first_open_ms, stream.last_open_ms
        span = f"{shown(first)} → {shown(last)}" if first is not None and last is not None else "no bars"
        print(f"{stream.symbol} {stream.files.timeframe}: {stream.bars:,} bars ({span}), {stream.new_bars:,} new")
        if stream.gaps:
            print(f"  the exchange lacks {stream.missing_bars:,} bar(s) in {len(stream.gaps)} gap(s), not filled in:")
            for gap in stream.gaps[:GAPS_SHOWN]:
                after, following = shown(gap.after_open_time_ms), shown(gap.next_open_time_ms)
                print(f"    after {after}, before {following}: {gap.missing_bars:,} missing")
            if len(stream.gaps) > GAPS_SHOWN:
                print(f"    … and {len(stream.gaps) - GAPS_SHOWN} more")
        for start, end in stream.unavailable:
            print(f"  not available from the chosen source(s): {shown(start)} → {shown(end)}; try --source auto")
    print(
        f"files in {report.streams[0].files.out if report.streams else '.'}; the candle opening at "
        f"{shown(report.end_ms)} was still forming (not stored)"
    )
    print(
        f"{report.archive_files} archive file(s), {report.rest_requests} REST request(s)"
        + (f", {report.waited_s:.0f} s waited for the rate limit" if report.waited_s else "")
        + f", {seconds:.1f} s"
    )
    for refused in report.archive_refused:
        print(f"  refused (checksum), fetched again: {refused}")
    for problem in report.archive_problems:
        print(f"  archive: {problem} (taken from REST instead where allowed)")
    if dead_letters:
        print(f"{dead_letters} row(s) refused, with why, in {dead_letter_path}")


def _fail(message: str, code: int = 2) -> int:
    print(f"stds download: {message}", file=sys.stderr)
    return code
