"""Names of one deployment: its stack, and the physical names made from its prefix, checked at synth.

Every name a deployment owns starts with its prefix, and its stack name comes from the prefix too, so two
prefixes are two stacks that share no resource. A name AWS would refuse fails the synth, naming the limit.
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "stds-"
# lower-case words joined by single hyphens, ending in one: valid in every name it starts (table, bus,
# function, secret, log group), and `stack_name` stays one-to-one (no two prefixes share a stack)
PREFIX = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*-")
FUNCTION_NAME_MAX = 64  # Lambda's limit on FunctionName


class InvalidName(ValueError):
    pass


def check_prefix(prefix: str) -> str:
    if not PREFIX.fullmatch(prefix):
        raise InvalidName(
            f"prefix {prefix!r}: use lower-case letters and digits in words joined by '-', ending with '-' "
            "(e.g. paper- or stds-prod-)"
        )
    return prefix


def stack_name(prefix: str) -> str:
    """`Stds` for the default prefix (the name the first deployments have), `Stds-paper` for `paper-`."""
    check_prefix(prefix)
    return "Stds" if prefix == DEFAULT_PREFIX else f"Stds-{prefix.removesuffix('-')}"


def function_name(prefix: str, role: str) -> str:
    name = f"{prefix}{role}"
    if len(name) > FUNCTION_NAME_MAX:
        raise InvalidName(
            f"function name {name!r} has {len(name)} characters; Lambda allows {FUNCTION_NAME_MAX}: "
            "shorten the strategy's name in the strategies file or the --prefix"
        )
    return name


def bar_bucket_name(prefix: str, account: str, region: str) -> str:
    """The bucket the streamer keeps bars in: bucket names are global, so the account and region are in it."""
    return f"{prefix}bars-{account}-{region}"


def construct_id(name: str) -> str:
    """A construct id from a strategy's or table's name: `sma_btc` → `SmaBtc` (logical ids are made from it)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)
