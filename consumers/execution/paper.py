"""Paper broker: fills at the triggering bar's close, with a fee and optional slippage in bps."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from consumers.execution.broker import Execution, Refusal
from events.models import OrderRequested

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class PaperBroker:
    fee_bps: Decimal = Decimal(10)
    slippage_bps: Decimal = Decimal(0)

    def execute(self, order: OrderRequested) -> Execution | Refusal:
        price = order.reference_price
        if self.slippage_bps:
            # slippage always costs: buys fill higher, sells lower
            direction = 1 if order.side == "buy" else -1
            price = price * (BPS + direction * self.slippage_bps) / BPS
        fee = order.qty * price * self.fee_bps / BPS
        return Execution(qty=order.qty, price=price, fee=fee)
