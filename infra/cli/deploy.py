"""`stds deploy` and `stds diff`: the AWS CDK CLI run on this project's app, with the stack's context."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.help_format import DefaultsHelpFormatter
from infra.cli.options import add_region_option

if TYPE_CHECKING:
    from infra.cli.options import Commands

VERBS = (("deploy", "create or update the AWS stack"), ("diff", "show what a deploy would change"))


def add(commands: Commands) -> None:
    for verb, what in VERBS:
        command = commands.add_parser(
            verb,
            help=f"{what} (wraps the AWS CDK CLI)",
            description=(
                f"{what.capitalize()} for the strategies in --strategies, through the AWS CDK CLI: `cdk` on PATH "
                "(npm install -g aws-cdk), else `npx aws-cdk@2`. Needs AWS credentials, and `cdk bootstrap` once "
                "per account and region. Lambda code is bundled locally; the streamer image is built by Docker."
            ),
            formatter_class=DefaultsHelpFormatter,
        )
        command.add_argument("--strategies", type=Path, default=Path("strategies.toml"), help="the strategies file")
        command.add_argument("--prefix", default="stds-", help="names of the bus, tables and functions")
        command.add_argument("--symbols", default="", help="streamed besides the symbols the strategy lines name")
        command.add_argument("--bus", default="eventbridge", choices=["eventbridge", "sns"], help="the pub-sub service")
        add_region_option(command)
        alarms = command.add_mutually_exclusive_group()
        alarms.add_argument(
            "--alarm-email",
            help="mail the alarms to this address (AWS asks it to confirm first); deploy needs it or --no-alarm-email",
        )
        alarms.add_argument(
            "--no-alarm-email",
            action="store_true",
            help="deploy without one: the alarms then go to a topic nobody is subscribed to",
        )
        command.add_argument(
            "--streamer-spot",
            action="store_true",
            help="run the streamer on Fargate Spot alone: half the price, and no bars while Spot has no capacity "
            "(by default it runs on on-demand Fargate; stds cost shows both prices)",
        )
        command.add_argument("--dry-run", action="store_true", help="print the CDK command instead of running it")
        command.add_argument(
            "--sweeps",
            action="store_true",
            help="the research stack instead (stds sweep --aws: bucket, function, state machine); needs no strategies",
        )
        command.add_argument("cdk_args", nargs="*", metavar="-- CDK_ARGS", help="passed on to cdk")
        command.set_defaults(run=run, verb=verb)


def unheard_alarms(prefix: str) -> str:
    return (
        f"without --alarm-email the alarms (failed invocations, undelivered events, streamer lag, reconciliation "
        f"differences) go to the SNS topic {prefix}alarms, which nobody is subscribed to: trading can stop unheard"
    )


def run(args: argparse.Namespace) -> int:
    import shlex
    import shutil
    import subprocess

    from infra.cdk.names import check_prefix_fits

    if not args.sweeps and not args.strategies.exists():
        print(f"stds {args.verb}: {args.strategies} not found (start from strategies.example.toml)", file=sys.stderr)
        return 2
    check_prefix_fits(args.prefix, args.region)  # before cdk starts: a bad prefix is one line, not a synth traceback
    if args.verb == "deploy" and not args.alarm_email and not args.sweeps:  # the research stack has no alarms
        print(f"stds deploy: {unheard_alarms(args.prefix)}", file=sys.stderr)
        if not args.no_alarm_email:
            print("stds deploy: give --alarm-email you@example.com, or --no-alarm-email to deploy so", file=sys.stderr)
            return 2
    installed = shutil.which("cdk")
    cdk = [installed] if installed else (["npx", "--yes", "aws-cdk@2"] if shutil.which("npx") else [])
    context = {
        "stds:prefix": args.prefix,
        "stds:symbols": args.symbols,
        "stds:bus": args.bus,
        "stds:region": args.region,
    }
    if args.alarm_email:
        context["stds:alarmEmail"] = args.alarm_email
    if args.streamer_spot:
        context["stds:streamerSpot"] = "true"
    if args.sweeps:
        context["stds:sweeps"] = "true"
    # a deploy re-adopts the tables and the secret a destroyed (or rolled back) stack of this prefix left behind
    adopt = ["--require-approval", "broadening", "--import-existing-resources"] if args.verb == "deploy" else []
    app = f"{shlex.quote(sys.executable)} -m infra.cdk.app"
    contexts = [word for key, value in context.items() for word in ("--context", f"{key}={value}")]
    command = [*(cdk or ["cdk"]), args.verb, "--app", app, *contexts, *adopt, *args.cdk_args]
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
