"""`stds strategies`: the built-in strategies and their parameters."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.cli.options import Commands


def add(commands: Commands) -> None:
    strategies = commands.add_parser("strategies", help="list the built-in strategies and their parameters")
    strategies.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.strategies.builtin import BUILTIN

    for name, cls in sorted(BUILTIN.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name}: {doc}")
        for field, info in cls.Params.model_fields.items():
            print(f"    {field} = {info.default!s}  {info.description or ''}".rstrip())
    return 0
