"""The sweep function: a Distributed Map child's batch of items, run by the same code as `stds sweep` locally.

The event is what the map's ItemBatcher sends: `Items` (from the sweep's manifest) and `BatchInput`
(`{"bucket", "prefix"}`, where the sweep's definition and bars are)."""

from __future__ import annotations

from typing import Any

import boto3

from infra.research.remote import SweepPlace, run_batch

_s3 = boto3.client("s3")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    where = event["BatchInput"]
    return run_batch(_s3, SweepPlace(where["bucket"], where["prefix"]), event["Items"])
