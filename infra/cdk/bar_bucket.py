"""Where the streamer keeps recent bars (one object per exchange, timeframe and hour, events/bar_archive.py):
named and kept like the tables, so the next deploy adopts it; its objects expire after the retention."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from events.bar_archive import PREFIX as BAR_PREFIX
from infra.cdk.names import bar_bucket_name


class BarBucket:
    def __init__(self, stack: Stack, prefix: str, retention_days: int) -> None:
        self.bucket = s3.Bucket(
            stack,
            "BarBucket",
            bucket_name=bar_bucket_name(prefix, stack.account, stack.region),
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(retention_days))],
        )
        self.objects = self.bucket.arn_for_objects(f"{BAR_PREFIX}/*")

    def allow(self, role: iam.IRole | None, actions: list[str]) -> None:
        """`actions` on the bars' objects, and listing them: without ListBucket, S3 answers a GET of an hour not
        written yet with 403 instead of 404, so the streamer would retry its first write of each hour forever,
        and a cold strategy would fail on it."""
        assert role is not None
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[self.objects]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{BAR_PREFIX}/*"]}},
            )
        )
