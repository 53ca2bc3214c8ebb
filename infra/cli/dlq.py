"""`stds dlq`: show or re-publish the events a deployment failed to handle (its failure queues)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import add_region_option

if TYPE_CHECKING:
    from events.bus import Bus
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="show or re-publish the events a deployment failed to handle (its failure queues)",
        description=(
            "The deployed stack keeps what failed in two SQS queues: events a function failed on after Lambda's "
            "retries (or that waited past their maximum age while throttled), and events the bus could not deliver. "
            "`list` shows them; `redrive` publishes their events on the bus again and deletes them. Consumers "
            "recognise what they already handled by the events' ids, so a redrive is safe."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--prefix", default="stds-", help="the deployment's prefix (as given to stds deploy)")
    add_region_option(dlq)
    dlq.add_argument("--limit", type=int, default=1000, help="at most this many messages per queue")
    dlq.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import boto3

    from infra.aws.failed_events import read_queue, redrive
    from infra.aws.stack_outputs import FAILED_OUTPUT, UNDELIVERED_OUTPUT, stack_outputs
    from infra.cdk.names import stack_name

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


def _deployed_bus(outputs: dict[str, str], region: str) -> Bus:
    import boto3

    from events.eventbridge_bus import EventBridgeBus
    from events.sns_bus import SnsBus
    from infra.aws.stack_outputs import BUS_OUTPUT, TOPIC_OUTPUT

    if BUS_OUTPUT in outputs:
        return EventBridgeBus(boto3.client("events", region_name=region), outputs[BUS_OUTPUT])
    return SnsBus(boto3.client("sns", region_name=region), outputs[TOPIC_OUTPUT])
