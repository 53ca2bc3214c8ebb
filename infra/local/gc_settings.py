"""The garbage collector during a run over bars (a replay, a sweep's batch of items).

Such a run allocates short-lived containers (events, decisions, lists of them) at a high rate, and with Python's
default threshold (700) collects its youngest objects every few hundred strategy-bars; each older pass walks the
bars read and the strategies loaded, which outlive the run anyway. Within `collecting_rarely`, what is alive at its
start is kept out of every collection (`gc.freeze`: also what keeps a forked sweep worker from copying the pages of
the bars it inherited, since a collection writes into each object it walks) and the youngest generation is
collected every 100,000 allocations. Cycles are still collected, only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000  # allocations between collections of the youngest generation (Python's default: 700)


@contextmanager
def collecting_rarely() -> Iterator[None]:
    """The collector's settings as they were before, after. Nested (a forked worker's batch, inside its parent's
    pool): the objects frozen by an outer one stay frozen until it ends."""
    outermost = gc.get_freeze_count() == 0
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(YOUNG_THRESHOLD, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if outermost:
            gc.unfreeze()
