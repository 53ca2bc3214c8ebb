"""What a strategy may return: a finite position in base units, on the market's quantity grid."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from events.bar_checks import MAX_VOLUME

# Binance quotes no spot quantity finer than 8 decimals; a finer target could never be traded exactly.
QUANTUM = Decimal("1e-8")


class InvalidTarget(ValueError):
    """A strategy's answer that cannot be a position, e.g. `returned Decimal('NaN')`."""


def checked_target(value: object) -> Decimal:
    """`value` as a target on the quantity grid (rounded toward zero), or InvalidTarget saying why not."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidTarget(f"returned {value!r} ({type(value).__name__}): a target is a Decimal, e.g. Decimal('0.5')")
    target = Decimal(value)
    if not target.is_finite() or abs(target) > MAX_VOLUME:
        raise InvalidTarget(f"returned {value!r}: a target is a finite quantity of at most {MAX_VOLUME}")
    exponent = target.as_tuple().exponent
    return target.quantize(QUANTUM, rounding=ROUND_DOWN) if isinstance(exponent, int) and exponent < -8 else target


MAX_KNOWN = 16  # answers remembered by a checker: a strategy returns a few objects, over and over


def remembering_checker() -> Callable[[object], Decimal]:
    """`checked_target` that remembers its last answers by identity: a strategy mostly returns the same
    few Decimal objects (its qty, zero), and a Decimal never changes, so each is checked once. A closure,
    not an object with `__call__`: called per strategy and bar, where calling an instance costs 40% more."""
    known: dict[int, tuple[object, Decimal]] = {}

    def checked(value: object) -> Decimal:
        remembered = known.get(id(value))
        if remembered is not None and remembered[0] is value:  # the reference held below keeps the id from reuse
            return remembered[1]
        target = checked_target(value)
        if len(known) >= MAX_KNOWN:
            known.clear()
        known[id(value)] = (value, target)
        return target

    return checked
