"""The streamer: one always-on Fargate task on public subnets (no NAT gateway to pay for), restarted by ECS if it
dies, publishing minute batches on the channel and keeping recent bars in the bucket."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from infra.aws.delivered_bars_metric import NAMESPACE
from infra.aws.stream import streamer_command
from infra.cdk.bar_bucket import BarBucket
from infra.cdk.channel import Channel
from infra.cdk.settings import StackSettings


def streamer(
    stack: Stack,
    context: Path,
    symbols: list[str],
    settings: StackSettings,
    *,
    channel: Channel,
    bars: BarBucket,
    control: dynamodb.Table,
    higher_timeframes: list[str],
) -> ecs.FargateService:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    # no Container Insights: its per-task metrics would cost more than the task; the lag alarm watches
    # BarsDelivered, and ECS's own CPU and memory metrics are free
    cluster = ecs.Cluster(
        stack,
        "Cluster",
        vpc=vpc,
        container_insights_v2=ecs.ContainerInsights.DISABLED,
        enable_fargate_capacity_providers=True,
    )
    task = ecs.FargateTaskDefinition(
        stack,
        "StreamerTask",
        cpu=settings.streamer_cpu,
        memory_limit_mib=settings.streamer_memory_mb,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
        ),
    )
    log_group = logs.LogGroup(
        stack,
        "StreamerLogs",
        log_group_name=f"/stds/{settings.prefix}streamer",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    task.add_container(
        "streamer",
        image=ecs.ContainerImage.from_asset(
            str(context), platform=ecr_assets.Platform.LINUX_ARM64, ignore_mode=IgnoreMode.DOCKER
        ),
        command=streamer_command(
            symbols, [channel.option, channel.name], settings.prefix, bars.bucket.bucket_name, higher_timeframes
        ),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="streamer", log_group=log_group),
        stop_timeout=Duration.seconds(30),  # SIGTERM, then 30 s to deliver the queue and save cursors
    )
    channel.grant_publish(task.task_role)
    task.task_role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
        )
    )
    task.task_role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem"],
            resources=[control.table_arn],
            conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["streamer-cursors"]}},
        )
    )
    bars.allow(task.task_role, ["s3:GetObject", "s3:PutObject"])  # rewrite the current span; read one back
    return ecs.FargateService(
        stack,
        "Streamer",
        cluster=cluster,
        task_definition=task,
        desired_count=1,
        assign_public_ip=True,
        capacity_provider_strategies=capacity_providers(spot_only=settings.streamer_spot),
        min_healthy_percent=0,  # never two streamers at once
        max_healthy_percent=100,
        circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
    )


def capacity_providers(*, spot_only: bool) -> list[ecs.CapacityProviderStrategy]:
    """Where the streamer's task runs. ECS never moves a task from Spot to on-demand when Spot has no capacity: it
    keeps trying Spot, and no bar is published meanwhile. So by default the base of one task is on-demand FARGATE
    (weight 0: nothing beyond the base goes there) and FARGATE_SPOT takes any task beyond it: the one streamer is
    on-demand, and a Spot reclaim or shortage never stops trading. `spot_only` (stds deploy --streamer-spot) puts
    it on Spot alone for half the price: a reclaimed task gets a SIGTERM, saves its cursors, and its successor
    backfills the gap over REST once Spot has capacity again, which may take minutes or hours."""
    if spot_only:
        return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)]
    return [
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=1, weight=0),
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
    ]
