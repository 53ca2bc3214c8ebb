"""Parameter grids: `fast=5:50:5`, `slow=30,60,120`, expanded in order or sampled at random (seeded)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

ParamValue = int | Decimal | str
ParamSet = dict[str, ParamValue]


class GridError(ValueError):
    """A grid that cannot be expanded; the message names the option or key and shows the syntax."""


SYNTAX = "expected NAME=START:STOP:STEP (STOP included), NAME=START:STOP (step 1) or NAME=V1,V2,..."


def parse_grid_option(text: str) -> tuple[str, list[ParamValue]]:
    """`--grid fast=5:50:5` → ("fast", [5, 10, ..., 50])."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise GridError(f"--grid {text!r}: {SYNTAX}")
    return name.strip(), grid_values(values.strip(), f"--grid {text!r}")


def grid_values(spec: str | int | float | Sequence[Any], origin: str) -> list[ParamValue]:
    """A grid axis from a range string, a comma list, one value, or (from TOML) a list of values."""
    if is_range(spec):
        return _range(spec, origin)
    if isinstance(spec, str):
        items: Sequence[Any] = [part.strip() for part in spec.split(",") if part.strip()]
    elif isinstance(spec, list | tuple):
        items = spec
    else:
        items = [spec]
    values = [_value(item, origin) for item in items]
    if not values:
        raise GridError(f"{origin}: no values; {SYNTAX}")
    if len(set(values)) != len(values):
        raise GridError(f"{origin}: a value is listed twice")
    return values


def is_range(spec: object) -> TypeGuard[str]:
    """`START:STOP[:STEP]`: evenly spaced numbers in order (optuna samples it as a number, a list as a choice)."""
    return isinstance(spec, str) and ":" in spec


def expand(axes: Mapping[str, Sequence[ParamValue]]) -> list[ParamSet]:
    """Every combination, the first axis varying slowest."""
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def sample(sets: Sequence[ParamSet], count: int, seed: int) -> list[ParamSet]:
    """`count` distinct sets drawn at random (the same `seed`, the same draw), in grid order; all if fewer."""
    if count <= 0:
        raise GridError(f"--samples {count}: give a positive number of parameter sets")
    if count >= len(sets):
        return list(sets)
    chosen = sorted(random.Random(seed).sample(range(len(sets)), count))
    return [sets[index] for index in chosen]


def describe(params: Mapping[str, ParamValue]) -> str:
    return " ".join(f"{name}={value}" for name, value in params.items())


def _range(spec: str, origin: str) -> list[ParamValue]:
    parts = [part.strip() for part in spec.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise GridError(f"{origin}: {SYNTAX}")
    start, stop = _number(parts[0], origin), _number(parts[1], origin)
    step = _number(parts[2], origin) if len(parts) == 3 else 1
    if step <= 0 or stop < start:
        raise GridError(f"{origin}: a range needs START <= STOP and a positive STEP")
    count = int((Decimal(stop) - Decimal(start)) / Decimal(step)) + 1
    if count > 100_000:
        raise GridError(f"{origin}: {count:,} values in one axis; use a larger step or --samples")
    # all integers stay integers (bar counts); otherwise exact decimals, never float steps that drift
    if all(isinstance(value, int) for value in (start, stop, step)):
        return [int(start) + index * int(step) for index in range(count)]
    return [Decimal(start) + index * Decimal(step) for index in range(count)]


def _number(text: str, origin: str) -> int | Decimal:
    value = _value(text, origin)
    if isinstance(value, str):
        raise GridError(f"{origin}: {text!r} is not a number; {SYNTAX}")
    return value


def _value(item: Any, origin: str) -> ParamValue:
    """An integer, an exact decimal, or a word (e.g. mode=long_flat,long_short)."""
    if isinstance(item, bool):
        raise GridError(f"{origin}: {item!r}: booleans are not grid values")
    if isinstance(item, int):
        return item
    if isinstance(item, float):
        return Decimal(repr(item))  # the number as written in the TOML file, not its binary neighbour
    if isinstance(item, Decimal):
        return item
    if not isinstance(item, str):
        raise GridError(f"{origin}: {item!r} is not a number or a word")
    text = item.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        raise GridError(f"{origin}: {text!r} is not a finite number")
    return number
