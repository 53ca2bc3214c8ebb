"""Names of one deployment: its stack, and the physical names made from its prefix, checked at synth.

Every name a deployment owns starts with its prefix, and its stack name comes from the prefix too, so two
prefixes are two stacks that share no resource. A name AWS would refuse fails the synth in one line naming the
name, its length and the limit: each as it is made (function names), and all of a stack's at the end of it
(`check_physical_names`, for any stack of the app), the bucket's with its region's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_cdk import Stack

DEFAULT_PREFIX = "stds-"
# lower-case words joined by single hyphens, ending in one: valid in every name it starts (table, bus,
# function, secret, log group), and `stack_name` stays one-to-one (no two prefixes share a stack)
PREFIX = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*-")
ACCOUNT_ID = "123456789012"  # an account id is always 12 digits: the length a name made with one will have


class InvalidName(ValueError):
    pass


@dataclass(frozen=True)
class NameLimit:
    """What AWS accepts as the physical name of one kind of resource."""

    what: str
    service: str
    property: str  # the CloudFormation property holding the name
    max_length: int
    allowed: str  # a regular expression the whole name matches
    characters: str  # `allowed` in words

    def check(self, name: str, assumed: str = "") -> str:
        """`name`, or one line naming the name, its length and the limit; `assumed` says what a token counted as."""
        if len(name) > self.max_length:
            raise InvalidName(
                f"{self.what} {name!r} has {len(name)} characters{assumed}; {self.service} allows "
                f"{self.max_length}: shorten the --prefix (or the strategy's name in the strategies file)"
            )
        if not re.fullmatch(self.allowed, name):
            raise InvalidName(f"{self.what} {name!r}: {self.service} allows {self.characters} only")
        return name


_WORD = "letters, digits, '-' and '_'"
# AWS's limits on each kind of name a stack may set (the CloudFormation resource reference of each type)
NAME_LIMITS = {
    limit.what: limit
    for limit in (
        NameLimit(
            "stack name", "CloudFormation", "StackName", 128, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and '-'"
        ),
        NameLimit(
            "bucket name",
            "S3",
            "BucketName",
            63,
            r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            "lower-case letters, digits, '.' and '-'",
        ),
        NameLimit("function name", "Lambda", "FunctionName", 64, r"[A-Za-z0-9_-]+", _WORD),
        NameLimit(
            "table name",
            "DynamoDB",
            "TableName",
            255,
            r"[A-Za-z0-9_.-]{3,}",
            "3 or more letters, digits, '_', '.' and '-'",
        ),
        NameLimit(
            "log group name",
            "CloudWatch Logs",
            "LogGroupName",
            512,
            r"[A-Za-z0-9_./#-]+",
            "letters, digits and '_-./#'",
        ),
        NameLimit("event bus name", "EventBridge", "Name", 256, r"[A-Za-z0-9._/-]+", "letters, digits and '._-/'"),
        NameLimit("archive name", "EventBridge", "ArchiveName", 48, r"[A-Za-z0-9._-]+", "letters, digits and '._-'"),
        NameLimit("rule name", "EventBridge", "Name", 64, r"[A-Za-z0-9._-]+", "letters, digits and '._-'"),
        NameLimit(
            "schedule name", "EventBridge Scheduler", "Name", 64, r"[A-Za-z0-9._-]+", "letters, digits and '._-'"
        ),
        NameLimit("topic name", "SNS", "TopicName", 256, r"[A-Za-z0-9_-]+", _WORD),
        NameLimit("queue name", "SQS", "QueueName", 80, r"[A-Za-z0-9_-]+", _WORD),
        NameLimit(
            "secret name", "Secrets Manager", "Name", 512, r"[A-Za-z0-9/_+=.@-]+", "letters, digits and '/_+=.@-'"
        ),
        NameLimit("alarm name", "CloudWatch", "AlarmName", 255, r"[^\x00-\x1f]+", "printable characters"),
        NameLimit("role name", "IAM", "RoleName", 64, r"[A-Za-z0-9+=,.@_-]+", "letters, digits and '+=,.@_-'"),
        NameLimit("cluster name", "ECS", "ClusterName", 255, r"[A-Za-z0-9_-]+", _WORD),
    )
}
NAMED_TYPES = {
    "AWS::S3::Bucket": "bucket name",
    "AWS::Lambda::Function": "function name",
    "AWS::DynamoDB::Table": "table name",
    "AWS::Logs::LogGroup": "log group name",
    "AWS::Events::EventBus": "event bus name",
    "AWS::Events::Archive": "archive name",
    "AWS::Events::Rule": "rule name",
    "AWS::Scheduler::Schedule": "schedule name",
    "AWS::SNS::Topic": "topic name",
    "AWS::SQS::Queue": "queue name",
    "AWS::SecretsManager::Secret": "secret name",
    "AWS::CloudWatch::Alarm": "alarm name",
    "AWS::IAM::Role": "role name",
    "AWS::ECS::Cluster": "cluster name",
}


def longest_region() -> str:
    """The longest region name AWS has (CDK's own list): what a name holding the region must leave room for
    when the stack does not know its region (it is a token until CloudFormation deploys it)."""
    from aws_cdk.region_info import RegionInfo

    return max((region.name for region in RegionInfo.regions), key=len)


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
    name = "Stds" if prefix == DEFAULT_PREFIX else f"Stds-{prefix.removesuffix('-')}"
    return NAME_LIMITS["stack name"].check(name)


def function_name(prefix: str, role: str) -> str:
    return NAME_LIMITS["function name"].check(f"{prefix}{role}")


def bar_bucket_name(prefix: str, account: str, region: str) -> str:
    """The bucket the streamer keeps bars in: bucket names are global, so the account and region are in it."""
    return f"{prefix}bars-{account}-{region}"


def check_prefix_fits(prefix: str, region: str) -> str:
    """Before a synth starts: the prefix's form, and the name it starts that AWS limits most, the bucket's (with
    an account id and the deploy region). The synth checks every other name (check_physical_names)."""
    stack_name(prefix)
    NAME_LIMITS["bucket name"].check(bar_bucket_name(prefix, ACCOUNT_ID, region), f" (in {region})")
    return prefix


def check_physical_names(stack: Stack, region: str | None = None) -> None:
    """Every name the stack and its nested stacks set, checked against AWS's limit for its kind: the first one AWS
    would refuse raises InvalidName. A name made with the account or region (tokens until deployed) is counted
    with a 12-digit account and `region`, or, unknown, the longest region name there is."""
    from aws_cdk import CfnResource, Stack  # here, not at the top: `stds dlq` names a stack without starting Node

    assumed = region or longest_region()
    because = f" (in {assumed}{'' if region else ', the longest region name'})"
    for child in stack.node.find_all():
        if not isinstance(child, CfnResource) or child.cfn_resource_type not in NAMED_TYPES:
            continue
        limit = NAME_LIMITS[NAMED_TYPES[child.cfn_resource_type]]
        value = Stack.of(child).resolve(getattr(child, _snake(limit.property)))
        pseudo = {"AWS::Region": assumed, "AWS::AccountId": ACCOUNT_ID}
        rendered = _render(value, pseudo)
        if rendered is not None:
            limit.check(rendered, because if rendered != value else "")


def _render(value: Any, pseudo: dict[str, str]) -> str | None:
    """A resolved name as a string, pseudo parameters written in; None for no name, or one only known deployed."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return pseudo.get(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        rendered = [_render(part, pseudo) for part in parts]
        return None if None in rendered else separator.join(str(part) for part in rendered)
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def construct_id(name: str) -> str:
    """A construct id from a strategy's or table's name: `sma_btc` → `SmaBtc` (logical ids are made from it)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)
