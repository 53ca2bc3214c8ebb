"""What `stds sweep --aws` costs and how long it takes, from the measured CPU time of a sweep item.

A sweep of ITEMS parameter sets (× windows) over BARS bars runs as a Step Functions Standard execution whose
Distributed Map hands batches of items to Express child workflows, each one Lambda invocation at 1,769 MB (one
full vCPU, where Lambda's CPU share is whole). A child reads the bars once (Parquet from S3), then runs its items
as one replay, so it costs the read plus its items' strategy-bars at the rate one core runs them (`make bench`:
`tests/performance/bench_sweep.py`). Items per child are chosen so a child runs about a minute: long enough that
the read and the cold start are a small share, far from Express's five-minute limit. Every child runs at once
(the map's concurrency is at most Lambda's default account concurrency of 1,000), so the wall time is one child's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from infra.cost.model import DEFAULT_REGION, Line, load_prices

# measured (tests/performance/bench_sweep_lambda.py, a child's batch of 20 sma_cross sets on 94,640 BTC/USDT 1m
# bars, quiet machine, 2026-12-06): 214,000-224,000 strategy-bars per CPU second, rounded down (a 95-set batch
# shares more: ~300,000, README Research), and 0.5 ms per item for its strategy, sub-account and report
STRATEGY_BARS_PER_CPU_S = Decimal(210_000)
ITEM_START_S = Decimal("0.0005")
# measured: reading a child's bars from Parquet into bars, 8.3-10.2 µs a bar (the same bench), rounded up
READ_S_PER_BAR = Decimal("0.000010")
COLD_START_S = Decimal(2)  # the Lambda's Python start and imports, generous
CHILD_TARGET_S = Decimal(60)  # what a child is sized to run
MAX_CONCURRENCY = 1000  # the Distributed Map's; Lambda's default concurrent executions per account and region
FUNCTION_MB = 1769  # one full vCPU
CHILD_BILLED_MB = 64  # an Express child's memory as billed (the least step: it only waits on the Lambda)
PARENT_TRANSITIONS = 6  # start, write the manifest's run, the map, its result writer, succeed (and a spare)
CHILD_TRANSITIONS = 1  # the Distributed Map bills one per child execution it starts (Step Functions' "Transitions")
S3_PUTS_PER_ITEM = 2  # its summary and its trades
S3_GETS_PER_CHILD = 2  # the sweep's definition and its bars


@dataclass(frozen=True)
class SweepPrices:
    lambda_gb_second: Decimal
    lambda_requests_per_million: Decimal
    transitions_per_thousand: Decimal  # Standard workflows
    express_requests_per_million: Decimal
    express_gb_second: Decimal
    s3_put_per_thousand: Decimal
    s3_get_per_thousand: Decimal
    region: str
    as_of: str


def sweep_prices(region: str = DEFAULT_REGION) -> SweepPrices:
    """The prices a sweep pays, in one place: Lambda (ARM, as infra/cdk/sweeps.py deploys it), Step Functions and
    S3, all from the region's dated price file."""
    prices = load_prices(region)

    def price(name: str) -> Decimal:
        value = prices[name]
        assert isinstance(value, Decimal), name
        return value

    return SweepPrices(
        lambda_gb_second=price("lambda_arm_gb_second"),
        lambda_requests_per_million=price("lambda_requests_per_million"),
        transitions_per_thousand=price("step_functions_standard_transitions_per_thousand"),
        express_requests_per_million=price("step_functions_express_requests_per_million"),
        express_gb_second=price("step_functions_express_gb_second"),
        s3_put_per_thousand=price("s3_put_per_thousand"),
        s3_get_per_thousand=price("s3_get_per_thousand"),
        region=str(prices["region"]),
        as_of=str(prices["as_of"]),
    )


@dataclass(frozen=True)
class SweepEstimate:
    items: int
    bars: int
    item_s: Decimal  # one item's CPU time
    items_per_child: int
    children: int
    child_s: Decimal  # one child's run: cold start, the read, its items
    wall_s: Decimal  # the sweep's, every child at once (in waves past the map's concurrency)
    lines: list[Line]

    @property
    def usd(self) -> Decimal:
        return sum((line.usd for line in self.lines), Decimal(0))


def sweep_estimate(items: int, bars: int, prices: SweepPrices) -> SweepEstimate:
    item_s = Decimal(bars) / STRATEGY_BARS_PER_CPU_S + ITEM_START_S
    per_child = max(1, min(items, int(CHILD_TARGET_S / item_s)))
    children = math.ceil(items / per_child)
    read_s = Decimal(bars) * READ_S_PER_BAR
    child_s = COLD_START_S + read_s + item_s * per_child
    waves = math.ceil(children / MAX_CONCURRENCY)
    gb = Decimal(FUNCTION_MB) / 1024
    lambda_s = children * (COLD_START_S + read_s) + items * item_s
    express_gb_s = children * child_s * Decimal(CHILD_BILLED_MB) / 1024
    transitions = PARENT_TRANSITIONS + CHILD_TRANSITIONS * children
    million, thousand = Decimal(1_000_000), Decimal(1000)
    lines = [
        Line("Lambda compute", f"{lambda_s:,.0f} s at {FUNCTION_MB} MB", lambda_s * gb * prices.lambda_gb_second),
        Line("Lambda requests", f"{children:,} children", children * prices.lambda_requests_per_million / million),
        Line(
            "Step Functions Express",
            f"{children:,} children, {express_gb_s:,.0f} GB-s",
            children * prices.express_requests_per_million / million + express_gb_s * prices.express_gb_second,
        ),
        Line(
            "Step Functions Standard",
            f"{transitions:,} transitions ({PARENT_TRANSITIONS} + one per child the map starts)",
            transitions * prices.transitions_per_thousand / thousand,
        ),
        Line(
            "S3 requests",
            f"{items * S3_PUTS_PER_ITEM:,} PUTs, {children * S3_GETS_PER_CHILD:,} GETs",
            items * S3_PUTS_PER_ITEM * prices.s3_put_per_thousand / thousand
            + children * S3_GETS_PER_CHILD * prices.s3_get_per_thousand / thousand,
        ),
    ]
    return SweepEstimate(items, bars, item_s, per_child, children, child_s, child_s * waves, lines)
