"""What a strategy declares (name, parameters, lookback, the bars it wants) and the one function it implements."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consumers.strategies.window import Window
from events.bar_checks import MAX_VOLUME

MAX_LOOKBACK = 1_000_000  # bars: 694 days of minutes; every stream keeps twice this in memory and in its state
INTEGER_BITS = 63  # an integer parameter lands in SQLite, DynamoDB and JSON, all of which stop at 64-bit integers


class InvalidLookback(ValueError):
    """The parameters give a lookback no run could use; the message says which values to change."""


class StrategyParams(BaseModel):
    """Base for a strategy's parameters; every strategy trades a fixed `qty` (base units) when in."""

    # each subclass's validator is built at its first use: a run validates the parameters of its strategies only
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    qty: Decimal = Field(default=Decimal(1), gt=0, le=MAX_VOLUME, description="base units held when in")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_number(cls, value: Any) -> Any:
        """Every parameter is kept with the run's state: integers within 64 bits, floats finite."""
        if type(value) is int and value.bit_length() > INTEGER_BITS:
            raise ValueError(f"{value} is beyond a 64-bit integer (at most {2**INTEGER_BITS - 1:,})")
        if type(value) is float and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return value


class Strategy:
    """Subclass this, set `name` and `Params`, implement `lookback` and `target`.

    `target` is pure: the same window and current target always give the same answer. It returns
    the position the strategy wants (positive long, negative short, zero flat), never a trade;
    the consumer turns the difference into orders.
    """

    name: ClassVar[str]
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: StrategyParams | dict[str, Any] | None = None) -> None:
        if isinstance(params, StrategyParams):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})
        lookback = self.lookback
        if not 1 <= lookback <= MAX_LOOKBACK:  # 0 or less: no window is ever complete, so it would never trade
            raise InvalidLookback(
                f"these parameters give a lookback of {lookback} bars, outside 1 to {MAX_LOOKBACK:,}: "
                "change the parameters that set its window lengths"
            )

    @property
    def lookback(self) -> int:
        """How many consecutive bars `target` needs; no decision is made before that many exist."""
        raise NotImplementedError

    def target(self, window: Window, current_target: Decimal) -> Decimal:
        """The wanted position at the close of `window.last`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"
