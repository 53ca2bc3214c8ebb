"""What one deployment chooses beside its strategies file (the `stds:*` context of infra/cdk/app.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StackSettings:
    prefix: str = "stds-"  # names of the bus and tables
    archive_retention_days: int = 365
    bus: str = "eventbridge"  # or "sns": a topic with filter policies instead of a bus with rules (no archive)
    function_memory_mb: int = 256
    streamer_symbols: tuple[str, ...] = ()  # added to every symbol a strategy line names
    streamer_cpu: int = 256  # 0.25 vCPU: the streamer benchmark shows ~500x headroom for 400 pairs
    streamer_memory_mb: int = 512
    alarm_email: str | None = None  # subscribed to the alarm topic (AWS mails a confirmation link first)
    bar_retention_days: int = 14  # the streamer's S3 spans; a cold strategy restores its windows from them
    region: str | None = None  # the deploy region when known: names holding it are checked with its length
    # False: the one streamer task on on-demand Fargate (the strategy's base), Spot for any task beyond it; True:
    # Spot alone, half the price, and no bars while Spot has no capacity (streamer.py says why)
    streamer_spot: bool = False
