"""`stds replay --archive`: ask EventBridge to send archived BarClosed events through the deployed bus again,
for a time range, to every rule or only some (an incident re-run, or one strategy's backtest in place)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED"}


class ReplayFailed(RuntimeError):
    pass


def start_archive_replay(
    client: Any, archive: str, start: datetime, end: datetime, rules: list[str] | None = None
) -> str:
    """Start the replay; returns its name. The destination is the archive's own bus (EventBridge's rule)."""
    if end <= start:
        raise ValueError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    described = client.describe_archive(ArchiveName=archive)
    bus_arn = described["EventSourceArn"]
    destination: dict[str, Any] = {"Arn": bus_arn}
    if rules:
        bus_name = bus_arn.rsplit("/", 1)[-1]
        destination["FilterArns"] = [client.describe_rule(Name=r, EventBusName=bus_name)["Arn"] for r in rules]
    name = f"{archive}-{start:%Y%m%dT%H%M}-{uuid.uuid4().hex[:6]}"[:64]
    client.start_replay(
        ReplayName=name,
        EventSourceArn=described["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=end,
        Destination=destination,
    )
    return name


def wait_for_replay(
    client: Any,
    name: str,
    on_progress: Callable[[dict[str, Any]], None] = lambda _: None,
    poll_s: float = 5.0,
    timeout_s: float = 6 * 3600,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        replay: dict[str, Any] = client.describe_replay(ReplayName=name)
        on_progress(replay)
        if replay["State"] in FINAL_STATES:
            if replay["State"] != "COMPLETED":
                raise ReplayFailed(f"replay {name} {replay['State']}: {replay.get('StateReason', 'no reason given')}")
            return replay
        if time.monotonic() > deadline:
            raise TimeoutError(f"replay {name} still {replay['State']} after {timeout_s:.0f}s; see describe-replay")
        time.sleep(poll_s)
