"""`stds sweep --aws`: the sweep's pending items run by the research stack's state machine instead of local workers.

First the estimate (`stds cost --sweep`), printed, and a refusal above `--max-cost` before anything is uploaded
or started. Then the definition, bars and manifest go to the stack's bucket (infra/research/remote.py), one
execution runs them, and each finished item is read back into the local sweep folder, the same files a local run
writes, so results.csv, best.toml, the heatmap and a later resume are the local sweep's own.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from infra.research.items import ItemOutcome, SweepItem, SweepLine
from infra.research.remote import ITEMS, MANIFEST, SweepPlace, upload_sweep
from infra.research.workers import Bars


class SweepRefused(ValueError):
    """The estimate is above the ceiling the user set."""


@dataclass(frozen=True)
class AwsTarget:
    prefix: str  # the research stack's (stds deploy --sweeps --prefix)
    region: str
    max_cost: Decimal  # USD


def check_cost(items: int, bars: int, max_cost: Decimal, region: str) -> int:
    """Prints the estimate; refuses above `max_cost`. Returns the items per child it was priced with."""
    from infra.cli.cost import print_sweep_estimate
    from infra.cost.sweep import sweep_estimate, sweep_prices

    usd = print_sweep_estimate(items, bars, region=region)
    if usd > max_cost:
        raise SweepRefused(
            f"the estimate (${usd:.4f}) is above --max-cost ${max_cost}: raise --max-cost, or sweep fewer sets or bars"
        )
    return sweep_estimate(items, bars, sweep_prices(region)).items_per_child


def run_on_aws(
    target: AwsTarget,
    bars: Bars,
    line: SweepLine,
    items: Sequence[SweepItem],
    *,
    on_done: Callable[[list[ItemOutcome]], None],
    clients: Callable[[str], Any] | None = None,
) -> None:
    if not items:
        return
    mean_bars = math.ceil(sum(bars.count_within(item.span) for item in items) / len(items))
    per_child = check_cost(len(items), mean_bars, target.max_cost, target.region)
    from infra.aws.sweep_execution import children_failures, find_sweep_service, wait_for_end
    from infra.aws.sweep_machine import FAILURE_KEY

    make = clients or _boto3_clients(target.region)
    s3, sfn = make("s3"), make("stepfunctions")
    service = find_sweep_service(make("cloudformation"), target.prefix)
    place = SweepPlace(service.bucket, f"sweeps/{uuid.uuid4().hex[:16]}")
    upload_sweep(s3, place, line, bars.bars, items)
    started = sfn.start_execution(
        stateMachineArn=service.machine_arn,
        input=orjson.dumps(
            {
                "bucket": place.bucket,
                "prefix": place.prefix,
                "manifest": place.key(MANIFEST),
                "items_per_child": per_child,
            }
        ).decode(),
    )
    print(f"started {started['executionArn']} (s3://{place.bucket}/{place.prefix})", flush=True)
    execution = wait_for_end(sfn, started["executionArn"], every_s=5.0)
    if execution["status"] != "SUCCEEDED":
        where = f"s3://{place.bucket}/{place.key(FAILURE_KEY)}"
        print(f"stds sweep --aws: the execution {execution['status']} ({execution.get('cause', '')}; see {where})",
              file=sys.stderr)  # fmt: skip
    failures = children_failures(s3, execution) if execution["status"] == "SUCCEEDED" else {}
    outcomes = [_fetched(s3, place, item, failures) for item in items]
    on_done(outcomes)


def _fetched(s3: Any, place: SweepPlace, item: SweepItem, failures: dict[str, str]) -> ItemOutcome:
    try:
        summary = s3.get_object(Bucket=place.bucket, Key=place.key(ITEMS, f"{item.key}.json"))["Body"].read()
        trades = s3.get_object(Bucket=place.bucket, Key=place.key(ITEMS, f"{item.key}.trades.csv"))["Body"].read()
    except s3.exceptions.NoSuchKey:
        error = failures.get(item.key, "not run: its Lambda child failed (see the execution's map run)")
        return ItemOutcome(item.key, None, [], error=error)
    return ItemOutcome(item.key, orjson.loads(summary), [], trades_csv=trades)


def _boto3_clients(region: str) -> Callable[[str], Any]:
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region)  # type: ignore[call-overload]

    return client
