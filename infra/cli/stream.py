"""`stds stream`: the AWS producer, closed bars to an EventBridge bus or SNS topic (what the Fargate task runs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import add_streamer_options, seconds, streamer_settings

if TYPE_CHECKING:
    from infra.cli.options import Commands

DEAD_LETTERS_VARIABLE = "STDS_DEAD_LETTERS"  # the streamer image sets a writable place: its /app is read-only


def add(commands: Commands) -> None:
    stream = commands.add_parser(
        "stream",
        help="the AWS producer: stream closed bars to an EventBridge bus or SNS topic (what the Fargate task runs)",
        description=(
            "Stream closed 1m bars from Binance (default) or any Binance-compatible server and publish each once, "
            "in order per symbol, to an EventBridge bus or an SNS topic, where the strategy functions subscribe. "
            "Cursors are kept in the DynamoDB control table (--table-prefix) or a file, so a restarted task resumes "
            "where it stopped. AWS credentials and region come from the usual AWS environment."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    add_streamer_options(stream)
    target = stream.add_mutually_exclusive_group(required=True)
    target.add_argument("--event-bus", help="EventBridge bus name")
    target.add_argument("--sns-topic", help="SNS topic ARN (a .fifo topic keeps order per stream)")
    stream.add_argument("--table-prefix", help="keep cursors in the DynamoDB table <prefix>control")
    stream.add_argument("--cursors", type=Path, default=Path("out/stream/cursors.json"), help="cursor file otherwise")
    dead_letters = os.environ.get(DEAD_LETTERS_VARIABLE, "out/stream/dead-letters.jsonl")
    stream.add_argument(
        "--dead-letters",
        type=Path,
        default=Path(dead_letters),
        help=f"malformed exchange messages, one JSON line each (default from ${DEAD_LETTERS_VARIABLE}); "
        "each is also logged, so none is lost if this file cannot be written",
    )
    stream.add_argument(
        "--deployment",
        metavar="PREFIX",
        help="put the BarsDelivered metric (namespace STDS, dimension Deployment=PREFIX) once a minute; "
        "the stack's streamer-lag alarm watches it",
    )
    stream.add_argument("--bucket", help="S3 bucket of the bar archive: each minute's bars written there first")
    stream.add_argument(
        "--batch-wait",
        type=seconds,
        default=2.0,
        help="seconds after a minute's first bar before it goes out incomplete",
    )
    stream.add_argument(
        "--timeframes",
        type=_higher_timeframes,
        default=(),
        metavar="TF,…",
        help="also make these bars from the minutes (e.g. 5m,1h: what the strategies declare); each goes out "
        "with the minute that closes it",
    )
    stream.add_argument("--trace-every", type=int, default=60, help="minutes between X-Ray traced batches; 0: none")
    stream.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from infra.aws.stream import StreamOptions, run_stream

    options = StreamOptions(
        stream=streamer_settings(args),
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
        higher_timeframes=args.timeframes,
    )
    summary = asyncio.run(run_stream(options))
    print(" ".join(f"{name}={value}" for name, value in summary.items()))
    return 0 if summary["all_delivered"] else 1


def _higher_timeframes(text: str) -> tuple[str, ...]:
    from events.timeframes import BAR_TIMEFRAMES

    named = tuple(timeframe.strip() for timeframe in text.split(",") if timeframe.strip())
    wrong = [timeframe for timeframe in named if timeframe not in BAR_TIMEFRAMES[1:]]
    if wrong:
        raise argparse.ArgumentTypeError(
            f"{', '.join(wrong)}: not a timeframe above 1m ({', '.join(BAR_TIMEFRAMES[1:])})"
        )
    return named
