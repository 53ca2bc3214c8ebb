"""`stds schema`: the JSON Schema of every event, for consumers written in other languages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    schema = commands.add_parser("schema", help="write the JSON Schema of every event (or print them)")
    schema.add_argument("--out", type=Path, help="folder to write one <DetailType>.json per event")
    schema.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import orjson

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
