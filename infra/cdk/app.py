"""The CDK app: `make synth` (or `cdk synth`/`cdk deploy`, with cdk.json) runs this module.

The strategies come from the same TOML the local runtime reads: `STRATEGIES=path` (default
strategies.toml, else strategies.example.toml). Lambda code is bundled locally into build/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.cdk.names import DEFAULT_PREFIX, InvalidName, stack_name
from infra.cdk.packaging import REPO_ROOT, build_asset, folder_size
from infra.cdk.settings import StackSettings
from infra.cdk.stack import StdsStack
from infra.cdk.sweeps import SweepStack, sweeps_stack_name
from infra.config import ConfigError, load_config
from infra.strategy_loader import refuse_informative_on_aws


def strategies_path() -> Path:
    chosen = os.environ.get("STRATEGIES")
    if chosen:
        return Path(chosen).resolve()
    default = REPO_ROOT / "strategies.toml"
    return default if default.exists() else REPO_ROOT / "strategies.example.toml"


def build_stack(
    app: cdk.App, config_path: Path, build: Path, *, with_dependencies: bool, settings: StackSettings | None = None
) -> StdsStack:
    config = load_config(config_path)
    refuse_informative_on_aws(config, str(config_path))
    settings = settings or StackSettings()
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    return StdsStack(
        app,
        stack_name(settings.prefix),  # one stack per prefix: a second prefix deploys beside the first
        config=config,
        strategy_code=build_asset("strategy", config, config_path, build, with_dependencies=with_dependencies),
        execution_code=build_asset("execution", config, config_path, build, with_dependencies=with_dependencies),
        streamer_context=REPO_ROOT,
        settings=settings,
        description="STDS: systematic crypto trading on EventBridge, Lambda and DynamoDB",
    )


def build_sweep_stack(app: cdk.App, prefix: str, build: Path, *, with_dependencies: bool) -> SweepStack:
    """`stds deploy --sweeps`: the research stack alone (it needs no strategies file)."""
    from infra.config import StdsConfig, StrategyLine

    config = StdsConfig(strategies={"sweep": StrategyLine(use="sma_cross")})  # the bundle's strategies.toml
    example = REPO_ROOT / "strategies.example.toml"
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    return SweepStack(
        app,
        sweeps_stack_name(prefix),
        prefix=prefix,
        code=build_asset("sweep", config, example, build, with_dependencies=with_dependencies),
        description="STDS research: stds sweep --aws on Step Functions and Lambda",
    )


def main() -> None:
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(REPO_ROOT / "cdk.out")))  # the cdk CLI sets CDK_OUTDIR
    bundle = app.node.try_get_context("stds:bundle") != "false"
    prefix = app.node.try_get_context("stds:prefix") or DEFAULT_PREFIX
    if app.node.try_get_context("stds:sweeps") == "true":
        build_sweep_stack(app, prefix, REPO_ROOT / "build", with_dependencies=bundle)
        app.synth()
        return
    symbols = tuple(s for s in (app.node.try_get_context("stds:symbols") or "").split(",") if s)
    bus = app.node.try_get_context("stds:bus") or os.environ.get("STDS_BUS", "eventbridge")
    archive_days = int(app.node.try_get_context("stds:archiveDays") or 365)
    alarm_email = app.node.try_get_context("stds:alarmEmail") or None
    region = app.node.try_get_context("stds:region") or None  # stds deploy passes its --region
    spot_only = app.node.try_get_context("stds:streamerSpot") == "true"
    settings = StackSettings(
        prefix=prefix,
        streamer_symbols=symbols,
        bus=bus,
        archive_retention_days=archive_days,
        alarm_email=alarm_email,
        region=region,
        streamer_spot=spot_only,
    )
    try:
        build_stack(app, strategies_path(), REPO_ROOT / "build", with_dependencies=bundle, settings=settings)
    except (InvalidName, ConfigError) as error:  # one line, not a traceback through the CDK
        print(f"stds synth: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()
    for kind in ("strategy", "execution"):  # Lambda's limit is 250 MB unzipped
        folder = REPO_ROOT / "build" / f"lambda-{kind}"
        print(f"{kind} function package: {folder_size(folder) / 1e6:.1f} MB unzipped ({folder})", file=sys.stderr)


if __name__ == "__main__":
    main()
