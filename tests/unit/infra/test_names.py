"""Physical names checked against AWS's limits: each kind's length and characters, and a name holding the region
counted with the deploy region's length or, when the region is a token, the longest region name there is."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from hypothesis import given
from hypothesis import strategies as st

from infra.cdk.app import build_stack
from infra.cdk.names import (
    NAME_LIMITS,
    InvalidName,
    bar_bucket_name,
    check_physical_names,
    check_prefix_fits,
    longest_region,
)
from infra.cdk.settings import StackSettings

CONFIG = '[strategies]\nsma_btc = { use = "sma_cross", symbols = ["BTC/USDT"] }\n'


def test_the_longest_region_name_is_counted_when_the_region_is_unknown() -> None:
    assert longest_region() == "us-isof-south-1" and len("ap-northeast-1") == 14


@given(st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=60))
def test_the_prefix_check_before_a_synth_agrees_with_the_bucket_name_limit(word: str) -> None:
    prefix = f"p{word}-"
    bucket = bar_bucket_name(prefix, "123456789012", "ap-northeast-1")
    if len(bucket) <= 63:
        assert check_prefix_fits(prefix, "ap-northeast-1") == prefix
    else:
        with pytest.raises(InvalidName, match=f"has {len(bucket)} characters \\(in ap-northeast-1\\); S3 allows 63"):
            check_prefix_fits(prefix, "ap-northeast-1")


def test_each_limit_refuses_one_character_more_and_a_character_it_does_not_allow() -> None:
    for limit in NAME_LIMITS.values():
        longest = "a" * limit.max_length
        assert limit.check(longest) == longest
        with pytest.raises(InvalidName, match=f"has {limit.max_length + 1} characters; {limit.service} allows"):
            limit.check(longest + "a")
    with pytest.raises(InvalidName, match=re.escape("S3 allows lower-case letters, digits, '.' and '-' only")):
        NAME_LIMITS["bucket name"].check("Stds-bars")


def _stack(tmp_path: Path, prefix: str, region: str | None) -> cdk.Stack:
    config = tmp_path / "strategies.toml"
    config.write_text(CONFIG)
    settings = StackSettings(prefix=prefix, region=region)
    return build_stack(cdk.App(), config, tmp_path / "build", with_dependencies=False, settings=settings)


def test_a_prefix_that_makes_the_bucket_name_too_long_fails_the_synth_naming_it(tmp_path: Path) -> None:
    prefix = "p" * 30 + "-"  # 63 characters of bucket name in Tokyo, 64 in the longest region
    stack = _stack(tmp_path, prefix, "ap-northeast-1")
    check_physical_names(stack, "ap-northeast-1")  # the stack checked itself; so may any other stack
    bucket = f"{prefix}bars-123456789012-us-isof-south-1"
    with pytest.raises(InvalidName) as refused:
        _stack(tmp_path, prefix, None)
    assert str(refused.value) == (
        f"bucket name {bucket!r} has 64 characters (in us-isof-south-1, the longest region name); S3 allows 63: "
        "shorten the --prefix (or the strategy's name in the strategies file)"
    )
