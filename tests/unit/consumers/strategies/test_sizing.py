"""Sizing by stake: an amount of the quote or a share of the sub-account's equity becomes a base target when the
strategy's answer changes, and stays while it does not; and a replay sized so never runs out of cash."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from consumers.stores.ports import Account, AccountKey
from consumers.strategies.sizing import InvalidStake, Stake
from consumers.strategies.targets import InvalidTarget
from infra.cli import main
from tests.conftest import SHARED_DATA

KEY = AccountKey("sma", "binance", "BTC/USDT")
MARCH = SHARED_DATA / "binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv"


def test_a_stake_is_an_amount_of_an_asset_or_a_share_of_equity() -> None:
    assert Stake.parse("1000 USDT") == Stake(Decimal(1000), "USDT")
    assert Stake.parse("12.5%") == Stake(Decimal("12.5"), None)
    for wrong in ("0%", "150%", "1000", "usdt 5", "-5 USDT", ""):
        with pytest.raises(InvalidStake, match="an amount of the quote asset"):
            Stake.parse(wrong)


def test_an_entry_is_the_stake_over_the_close_rounded_down_and_held_while_the_answer_holds() -> None:
    account = Account(KEY, cash=Decimal(10_000))
    quote = Stake.parse("1000 USDT")
    assert quote.target(Decimal(1), Decimal(0), account, Decimal(30_000)) == Decimal("0.03333333")
    assert quote.target(Decimal(-1), Decimal(0), account, Decimal(30_000)) == Decimal("-0.03333333")
    assert quote.target(Decimal(1), Decimal("0.03333333"), account, Decimal(31_000)) == Decimal("0.03333333")
    assert quote.target(Decimal(0), Decimal("0.03333333"), account, Decimal(31_000)) == 0
    held = Account(KEY, cash=Decimal(4_000), position=Decimal("0.2"))  # equity 4,000 + 0.2 × 30,000 = 10,000
    assert Stake.parse("10%").target(Decimal(-1), Decimal("0.2"), held, Decimal(30_000)) == Decimal("-0.03333333")


def test_a_stake_in_another_asset_than_the_quote_is_refused() -> None:
    with pytest.raises(InvalidTarget, match="not in BTC/USDT's quote asset USDT"):
        Stake.parse("1000 EUR").target(Decimal(1), Decimal(0), Account(KEY, cash=Decimal(1)), Decimal(1))


def test_the_demo_sized_by_equity_is_never_short_of_cash(tmp_path: Path) -> None:
    common = [str(MARCH), "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", "--no-chart"]
    assert main(["replay", *common, "--param", "qty=0.5", "--out", str(tmp_path / "qty")]) == 0
    assert main(["replay", *common, "--stake", "50%", "--out", str(tmp_path / "stake")]) == 0
    by_qty = orjson.loads((tmp_path / "qty" / "summary.json").read_bytes())
    by_stake = orjson.loads((tmp_path / "stake" / "summary.json").read_bytes())
    assert (by_qty["rejects"], by_qty["rejects_by_reason"]) == (175, {"insufficient cash": 175})
    assert (by_stake["rejects"], by_stake["rejects_by_reason"]) == (0, {})
    assert by_stake["trades"] > by_qty["trades"]  # it kept trading to the end of the month
