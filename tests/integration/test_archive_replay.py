"""stds replay --archive on moto's server: archived bars go through the bus again, to the chosen rules."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from events.envelope import wrap
from events.eventbridge_bus import EventBridgeBus
from events.models import BarClosed
from infra.cli import main
from tests.conftest import spot_day_bars
from tests.emulators.aws import client, envelopes_in, queue_behind_rule

BARS = spot_day_bars(limit=20)


def test_archived_bars_are_replayed_to_the_rules(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    events = client("events", moto_endpoint)
    bus = f"stds-{uuid.uuid4().hex[:6]}"
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.create_archive(ArchiveName=f"{bus}-bars", EventSourceArn=arn, EventPattern='{"detail-type": ["BarClosed"]}')
    queue = queue_behind_rule(moto_endpoint, bus, "strategy", {"detail-type": ["BarClosed"]})
    EventBridgeBus(events, bus).publish([wrap(bar, bar.closed_at) for bar in BARS])
    first = envelopes_in(moto_endpoint, queue)
    assert len(first) == len(BARS)

    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", moto_endpoint)
    argv = ["replay", "--archive", f"{bus}-bars", "--from", "2023-01-21T00:00", "--to", "2023-01-22T00:00"]
    assert main([*argv, "--rule", "strategy"]) == 0
    again: list[Any] = [e.detail for e in envelopes_in(moto_endpoint, queue)]
    assert Counter((b.symbol, b.open_time_ms) for b in again if isinstance(b, BarClosed)) == Counter(
        (b.symbol, b.open_time_ms) for b in BARS
    )


def test_a_bad_range_or_mixed_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--archive", "x", "--from", "2023-01-21"]) == 2
    assert main(["replay", "some.csv", "--archive", "x", "--from", "2023-01-21", "--to", "2023-01-22"]) == 2
    assert main(["replay", "some.csv"]) == 2
    assert "--strategy or --config" in capsys.readouterr().err
