"""stds cost: the arithmetic against hand-computed lines, and the shape of the bill as sizes grow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.cli import main
from infra.cost.model import (
    FUNCTION_VCPU,
    Sizes,
    UnknownRegion,
    batches_per_minute,
    cents,
    chunks_per_minute,
    ec2_bill,
    lambda_sampled,
    load_prices,
    priced_regions,
    serverless_bill,
    total,
    usage,
)

PRICES = load_prices("us-east-1")
TOKYO = load_prices("ap-northeast-1")


def _line(sizes: Sizes, item: str, prices: dict[str, Decimal | str | list[str]] = PRICES) -> Decimal:
    return next(line.usd for line in serverless_bill(sizes, prices) if line.item == item)


def test_lines_match_the_published_prices_by_hand() -> None:
    one = Sizes(symbols=1, strategies=1)
    # (0.25*0.03238 + 0.5*0.00356) * 730 on demand, and at the least Spot discount (50 %) on Spot alone
    assert cents(_line(one, "Fargate streamer")) == Decimal("7.21")
    assert cents(_line(Sizes(1, 1, spot=True), "Fargate streamer")) == Decimal("3.60")
    assert _line(one, "Public IPv4") == Decimal("3.650")
    assert _line(one, "Secrets Manager") == Decimal("0.40")
    # 43,200 one-bar batches + 3 events for each of 300 trades
    assert _line(one, "EventBridge events") == Decimal(43_200 + 900) / 1_000_000 * Decimal("1.00")
    # an event is billed per started 64 KB: 400 bars of ~170 bytes are two, in one event (one invocation)
    assert chunks_per_minute(1) == chunks_per_minute(360) == 1 and chunks_per_minute(400) == 2
    assert batches_per_minute(400) == batches_per_minute(1400) == 1 and batches_per_minute(1500) == 2
    # the streamer's one PUT a minute, 2 span GETs per cold start (24 a day), 14 days of 170-byte bars kept
    s3 = 43_200 / Decimal(1000) * Decimal("0.005") + 1440 / Decimal(1000) * Decimal("0.0004")
    s3 += Decimal(43_200 * 170) / 1024**3 * 14 / 30 * Decimal("0.023")
    assert _line(one, "S3 bar spans") == s3
    assert cents(total(ec2_bill(PRICES))) == Decimal("17.51")  # 0.0168*730 + 20*0.08 + 0.005*730


def test_the_goals_of_the_minute_batch_design() -> None:
    """Issue 11: at most $15 at 20 x 5, $40 at 400 x 10 (as then priced: us-east-1, the streamer on Spot), and
    under one t4g.small at every size up to 50 x 5, in Tokyo with the streamer on demand too."""
    assert total(serverless_bill(Sizes(20, 5, spot=True), PRICES)) <= 15
    assert total(serverless_bill(Sizes(400, 10, spot=True), PRICES)) <= 40
    for prices in (PRICES, TOKYO):
        ec2 = total(ec2_bill(prices))
        assert all(
            total(serverless_bill(Sizes(symbols, strategies), prices)) < ec2
            for symbols in range(1, 51)
            for strategies in range(1, 6)
        )


def test_per_invocation_units_by_hand() -> None:
    """400 symbols: each of 2 invocations a minute reads 400 sub-accounts and the cursors (214 bytes each, in
    one Query: 21 units of 4 KB) and writes the cursor item (60 + 400 x 24 bytes: 10 units of 1 KB); execution
    hears each batch and reads the kill switch once for it."""
    counted = usage(Decimal(1), 400, 1, Decimal(0), Decimal(0))
    assert (counted.invocations, counted.read_units, counted.write_units) == (1 + 1, 21 + 1, 10)
    assert counted.published_events == 2 and counted.s3_puts == 1  # one event, billed as two
    forced = usage(Decimal(1), 400, 1, Decimal(0), Decimal(0), batches=2)  # two batches: each reads and writes all
    assert (forced.invocations, forced.read_units, forced.write_units, forced.published_events) == (
        2 + 2,
        42 + 2,
        20,
        2,
    )


def test_a_1h_strategy_is_invoked_once_an_hour_and_its_bars_are_one_more_batch_and_span_write() -> None:
    minute, hour = (usage(Decimal(600), 1, 1, Decimal(0), Decimal(0), timeframe=t) for t in ("1m", "1h"))
    # the strategy 1/60 as often; execution hears every batch, the hourly ones too
    assert (minute.invocations, hour.invocations) == (600 + 600, 10 + 610)
    assert (hour.published_events, hour.s3_puts) == (610, 610)  # 600 minute batches, 10 hourly ones
    assert (hour.read_units - 610) * 60 == minute.read_units - 600 and hour.write_units * 60 == minute.write_units
    one_minute, one_hour = (_line(Sizes(1, 1, timeframe=t), "Lambda requests") for t in ("1m", "1h"))
    assert one_hour < one_minute


def test_the_bill_grows_with_symbols_and_strategies_but_the_streamer_does_not() -> None:
    small, more_symbols, more_strategies = Sizes(10, 2), Sizes(100, 2), Sizes(10, 20)
    assert total(serverless_bill(small, PRICES)) < total(serverless_bill(more_symbols, PRICES))
    assert total(serverless_bill(small, PRICES)) < total(serverless_bill(more_strategies, PRICES))
    assert _line(small, "Fargate streamer") == _line(more_symbols, "Fargate streamer")
    assert all(line.usd >= 0 for line in serverless_bill(more_strategies, PRICES))


def test_the_command_prints_both_bills_with_the_price_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--symbols", "20", "--strategies", "5"]) == 0
    shown = capsys.readouterr().out
    assert "ap-northeast-1 prices of 2026-12-06" in shown and "EC2 t4g.small" in shown and shown.count("total") == 2
    assert "on demand (Spot alone: 4.50, no bars while Spot has no capacity)" in shown  # both prices, Tokyo's
    assert main(["cost", "--symbols", "20", "--strategies", "5", "--region", "us-east-1", "--streamer-spot"]) == 0
    shown = capsys.readouterr().out
    assert "us-east-1 prices of 2026-12-06" in shown and "Spot alone (at 50% off; on demand: 7.21)" in shown
    assert main(["cost", "--symbols", "0", "--strategies", "5"]) == 2
    capsys.readouterr()
    assert main(["cost", "--symbols", "1", "--strategies", "1", "--region", "eu-west-9"]) == 2
    assert capsys.readouterr().err.startswith("stds: error: no prices for eu-west-9: infra/cost/ has ap-northeast-1")


def test_every_region_prices_the_same_items_with_their_sources() -> None:
    assert priced_regions() == ["ap-northeast-1", "us-east-1"]
    assert set(TOKYO) == set(PRICES)
    for prices in (TOKYO, PRICES):
        assert prices["sources"] and prices["as_of"]
    with pytest.raises(UnknownRegion):
        load_prices("eu-west-9")


@pytest.mark.parametrize("region", ["ap-northeast-1", "us-east-1"])
def test_every_price_names_where_it_was_read_or_why_it_was_not(region: str) -> None:
    """Each priced item is on a line of sources that says 'checked' (read on the page it names) or 'unverified'
    (and why): a price nobody can trace back is refused."""
    prices = load_prices(region)
    sources = prices["sources"]
    assert isinstance(sources, list)
    statuses = {line: line.split(": ", 1)[1].split()[0].rstrip(",:") for line in sources}
    assert all(status in ("checked", "unverified") for status in statuses.values()), statuses
    priced = [key for key, value in prices.items() if isinstance(value, Decimal) and key != "hours_per_month"]
    untraced = [key for key in priced if not any(f"{key} {prices[key]}" in line for line in sources)]
    assert not untraced, f"{region}: no line of sources names {untraced} at its value"


def test_the_items_once_omitted_by_hand() -> None:
    """PutMetricData once a minute, the streamer's heartbeat log and cursor put, ECR, X-Ray, Lambda CPU by memory."""
    one = Sizes(symbols=400, strategies=1)
    heartbeat_gb = Decimal(43_200 * (400 + 400 * 40)) / 1024**3
    by_hand = (
        heartbeat_gb * (Decimal("0.50") + Decimal("0.03"))
        + Decimal(43_200 * 15) / 1_000_000 * Decimal("0.625")  # 40 + 400 x 38 bytes: 15 write units a minute
        + Decimal(43_200) / 1000 * Decimal("0.01")
    )
    assert _line(one, "Streamer heartbeat, cursors") == by_hand
    assert _line(one, "ECR streamer image") == Decimal("0.2") * Decimal("0.10")
    assert FUNCTION_VCPU.quantize(Decimal("0.001")) == Decimal("0.145")  # 256 of 1,769 MB
    assert lambda_sampled(Decimal("0.5")) == Decimal("0.5") and lambda_sampled(Decimal(21)) == 2


def test_the_scheduled_reconciliation_line_by_hand() -> None:
    # 8,640 runs: scheduler + Lambda requests, 2 × 100 ms at 0.25 GB, 1 RRU and 2 WRU, 2.4 KB of logs, a trace
    # each, an alarm and two metrics
    by_hand = (
        Decimal(8640) / 1_000_000 * Decimal("1.20") + Decimal(8640) * Decimal("0.05") * Decimal("0.0000133334")
        + Decimal(8640) / 1_000_000 * (Decimal("0.125") + 2 * Decimal("0.625"))
        + Decimal(8640 * 2400) / 1024**3 * Decimal("0.50") + Decimal("0.10") + Decimal("0.60")
        + Decimal(8640) / 1_000_000 * Decimal("5.00")
    )  # fmt: skip
    assert cents(_line(Sizes(1, 1), "Scheduled reconciliation")) == cents(by_hand) == Decimal("0.78")
    # Tokyo's scheduler costs $1.25 per million invocations, not us-east-1's $1.00 (AWS's price list): its 8,640
    # runs cost 8,640 x $0.25 per million more than at us-east-1's scheduler price, everything else alike
    at_one_dollar = {**TOKYO, "eventbridge_scheduler_invocations_per_million": Decimal("1.00")}
    tokyo, us_scheduler = (_line(Sizes(1, 1), "Scheduled reconciliation", p) for p in (TOKYO, at_one_dollar))
    assert tokyo - us_scheduler == Decimal(8640) / 1_000_000 * Decimal("0.25")


def test_the_sns_variant_bills_publishes_instead_of_events_and_has_no_archive() -> None:
    eventbridge, sns = Sizes(20, 5), Sizes(20, 5, bus="sns")
    items = [line.item for line in serverless_bill(sns, PRICES)]
    assert "SNS publishes" in items and not {"EventBridge events", "EventBridge archive"} & set(items)
    published = Decimal(43_200 + 3 * 20 * 5 * 10 * 30)  # a batch a minute, then 3 events per trade
    assert _line(sns, "SNS publishes") == published / 1_000_000 * Decimal("0.50")
    assert _line(eventbridge, "EventBridge events") == published / 1_000_000 * Decimal("1.00")
    rest = {line.item: line.usd for line in serverless_bill(eventbridge, PRICES)}
    assert all(rest[line.item] == line.usd for line in serverless_bill(sns, PRICES) if line.item in rest)


def test_a_sweep_is_priced_from_the_measured_cpu_time_of_an_item() -> None:
    from infra.cost.sweep import ITEM_START_S, READ_S_PER_BAR, STRATEGY_BARS_PER_CPU_S, sweep_estimate, sweep_prices

    prices = sweep_prices("us-east-1")
    estimate = sweep_estimate(1000, 525_600, prices)  # 1,000 sets × a year of 1m bars
    assert estimate.item_s == Decimal(525_600) / STRATEGY_BARS_PER_CPU_S + ITEM_START_S
    # a child runs about a minute: as many whole items as fit in 60 s, every item in some child
    assert estimate.items_per_child == int(60 / estimate.item_s)
    assert estimate.children == -(-1000 // estimate.items_per_child)
    assert estimate.child_s < 70 and estimate.wall_s == estimate.child_s  # one wave: the children run at once
    compute = next(line for line in estimate.lines if line.item == "Lambda compute")
    assert compute.usd == (
        (estimate.children * (Decimal(2) + Decimal(525_600) * READ_S_PER_BAR) + 1000 * estimate.item_s)
        * Decimal(1769)
        / 1024
        * prices.lambda_gb_second
    )
    # Standard bills the parent's few transitions and one per child the Distributed Map starts
    standard = next(line for line in estimate.lines if line.item == "Step Functions Standard")
    assert standard.usd == (6 + estimate.children) * Decimal("0.025") / 1000
    assert estimate.usd < 1 and estimate.wall_s < 120  # the goal, on paper
    # past the map's 1,000 children at once, the children run in waves
    assert sweep_estimate(1001 * estimate.items_per_child, 525_600, prices).wall_s == 2 * estimate.child_s


def test_stds_cost_sweep_prints_the_estimate_and_refuses_a_malformed_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--sweep", "1000x525600"]) == 0
    out = capsys.readouterr().out
    assert "1,000 items × 525,600 bars" in out and "Lambda compute" in out and "total" in out
    with pytest.raises(SystemExit) as exit_:
        main(["cost", "--sweep", "1000"])
    assert exit_.value.code == 2
    assert "ITEMSxBARS" in capsys.readouterr().err
    assert main(["cost"]) == 2
