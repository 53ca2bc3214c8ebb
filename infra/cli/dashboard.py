"""`stds dashboard`: a live page in the browser over a state file or the AWS tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from infra.cli.options import port, seconds

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
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
    dashboard.add_argument("--port", type=port, default=8050, help="port (default 8050; 0 picks a free one)")
    dashboard.add_argument("--poll", type=seconds, help="seconds between looks at the state (default 0.5, --aws 5)")
    dashboard.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
