"""The monotonic clock the publisher's worker waits by: the machine's, or one a test moves by hand."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wait(self, condition: threading.Condition, deadline: float | None) -> None:
        """With `condition` held: wait until it is notified or this clock reaches `deadline` (None: no deadline)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, deadline: float | None) -> None:
        condition.wait(None if deadline is None else max(deadline - time.monotonic(), 0.001))
