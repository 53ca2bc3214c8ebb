"""One sub-account's ledger: cash, position, FIFO lots, realised PnL, fees by asset and round trips, from its
fills in the order they applied. Every number is an exact Decimal: no division happens anywhere."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from consumers.ledger.fills import LedgerFill, assets_of, quote_fee

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """From flat to flat (or to a flip through flat). Its profit is the PnL realised while it was open, every fee
    of its fills included (a fill that flips the position gives its fees to the trip it closes)."""

    strategy: str
    exchange: str
    symbol: str
    side: str  # "long" or "short"
    entry_time_ms: int  # the bar of the fill that opened it
    exit_time_ms: int  # the bar of the fill that closed it
    entry_qty: Decimal  # base bought (long) or sold (short) on the way in
    entry_notional: Decimal  # what those cost in the quote
    exit_notional: Decimal  # what the way out traded in the quote
    profit: Decimal
    fees: Decimal  # commissions in the quote and the base, valued in the quote
    fills: int
    profit_pct: float = field(init=False)  # profit on what the entry cost, as freqtrade's profit %

    def __post_init__(self) -> None:
        pct = float(self.profit / self.entry_notional * 100) if self.entry_notional else 0.0
        object.__setattr__(self, "profit_pct", pct)  # worked out once: statistics read it per group

    @property
    def duration_ms(self) -> int:
        return self.exit_time_ms - self.entry_time_ms


@dataclass(slots=True)
class _OpenTrip:
    side: str
    entry_time_ms: int
    realised_before: Decimal
    entry_qty: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_notional: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 1

    def add_entry(self, qty: Decimal, price: Decimal) -> None:
        self.entry_qty += qty
        self.entry_notional += qty * price


@dataclass(slots=True)
class _Lot:
    qty: Decimal  # signed: + long, − short
    price: Decimal


@dataclass(slots=True)
class AccountLedger:
    """Apply a sub-account's fills in order; read cash, position, realised, unrealised at a mark, fees and trips."""

    strategy: str
    exchange: str
    symbol: str
    starting_cash: Decimal
    cash: Decimal = field(init=False)
    position: Decimal = ZERO
    realised: Decimal = ZERO
    fees_quote: Decimal = ZERO  # commissions in the quote and the base asset, valued in the quote
    fees_by_asset: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0
    round_trips: list[RoundTrip] = field(default_factory=list)
    _lots: deque[_Lot] = field(default_factory=deque)
    _open: _OpenTrip | None = None

    def __post_init__(self) -> None:
        self.cash = self.starting_cash

    def apply(self, fill: LedgerFill) -> None:
        before, realised_before = self.position, self.realised
        signed = fill.signed_qty
        self._trade(signed, fill.price)
        self.realised -= fill.fee
        if fill.fee_base:  # the commission leaves the position as a disposal at price 0
            self._trade(-fill.fee_base, ZERO)
        self.cash += fill.cash_change
        self.position += fill.position_change
        self.fills += 1
        base, quote = assets_of(fill.symbol)
        for asset, amount in ((quote, fill.fee), (base, fill.fee_base), *fill.fee_other.items()):
            if amount:
                self.fees_by_asset[asset] = self.fees_by_asset.get(asset, ZERO) + amount
        fee = quote_fee(fill)
        self.fees_quote += fee
        self._follow_trip(fill, before, realised_before, fee)

    def unrealised(self, mark: Decimal) -> Decimal:
        """The open lots against their entry prices."""
        return sum((lot.qty * (mark - lot.price) for lot in self._lots), ZERO)

    def equity(self, mark: Decimal) -> Decimal:
        return self.cash + self.position * mark

    def pnl(self, mark: Decimal) -> Decimal:
        return self.equity(mark) - self.starting_cash

    @property
    def open_trip_since_ms(self) -> int | None:
        return None if self._open is None else self._open.entry_time_ms

    def _trade(self, signed: Decimal, price: Decimal) -> None:
        """FIFO: an opposite trade closes the oldest lots first (realising qty × (price − entry)); the rest opens."""
        lots = self._lots
        while signed and lots and (lots[0].qty > 0) != (signed > 0):
            oldest = lots[0]
            closed = oldest.qty if abs(oldest.qty) <= abs(signed) else -signed
            self.realised += closed * (price - oldest.price)
            oldest.qty -= closed
            signed += closed
            if not oldest.qty:
                lots.popleft()
        if signed:
            lots.append(_Lot(signed, price))

    def _follow_trip(self, fill: LedgerFill, before: Decimal, realised_before: Decimal, fee: Decimal) -> None:
        after = self.position
        trip = self._open
        if trip is None:
            trip = self._open = _OpenTrip(_side(fill.signed_qty), fill.bar_open_time_ms, realised_before, fees=fee)
            trip.add_entry(fill.qty, fill.price)
            if not after:  # the commission in the base asset took it all: in and out on one fill
                self._close(trip, fill)
            return
        trip.fills += 1
        trip.fees += fee
        closes = not after or (after > 0) != (before > 0)
        if (fill.side == "buy") == (trip.side == "long"):
            trip.add_entry(fill.qty, fill.price)
            return
        closing_qty = min(fill.qty, abs(before))
        trip.exit_notional += closing_qty * fill.price
        if not closes:
            return
        self._close(trip, fill)
        if after:  # flipped through flat: the rest of the fill opens the next trip; its fees stay with the last
            self._open = _OpenTrip(_side(after), fill.bar_open_time_ms, self.realised, fees=ZERO)
            self._open.add_entry(fill.qty - closing_qty, fill.price)

    def _close(self, trip: _OpenTrip, fill: LedgerFill) -> None:
        self.round_trips.append(
            RoundTrip(
                self.strategy,
                self.exchange,
                self.symbol,
                trip.side,
                trip.entry_time_ms,
                fill.bar_open_time_ms,
                trip.entry_qty,
                trip.entry_notional,
                trip.exit_notional,
                self.realised - trip.realised_before,
                trip.fees,
                trip.fills,
            )
        )
        self._open = None


def _side(position: Decimal) -> str:
    return "long" if position > 0 else "short"
