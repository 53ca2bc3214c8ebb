"""A window of consecutive closed bars, oldest first, with float views for indicators."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from events.models import BarClosed


class Window:
    """The `length` bars ending at the bar being decided on; complete (no gaps) by construction.

    Float views (`closes`, `highs`, ...) are what indicators want; the bars keep their exact
    Decimals for anything that touches money. Views are built lazily and only once.
    """

    __slots__ = ("__dict__", "bars")

    def __init__(
        self,
        bars: Sequence[BarClosed],
        *,
        closes: Sequence[float] | None = None,
        highs: Sequence[float] | None = None,
        lows: Sequence[float] | None = None,
    ) -> None:
        """A store that already keeps float columns passes them, saving a conversion per bar."""
        self.bars = bars
        for name, column in (("closes", closes), ("highs", highs), ("lows", lows)):
            if column is not None:
                self.__dict__[name] = column

    def __len__(self) -> int:
        return len(self.bars)

    @property
    def last(self) -> BarClosed:
        return self.bars[-1]

    @cached_property
    def closes(self) -> Sequence[float]:
        return [float(bar.close) for bar in self.bars]

    @cached_property
    def highs(self) -> Sequence[float]:
        return [float(bar.high) for bar in self.bars]

    @cached_property
    def lows(self) -> Sequence[float]:
        return [float(bar.low) for bar in self.bars]

    @cached_property
    def opens(self) -> Sequence[float]:
        return [float(bar.open) for bar in self.bars]

    @cached_property
    def volumes(self) -> Sequence[float]:
        return [float(bar.volume) for bar in self.bars]
