"""One colour per strategy, the same in chart.png and on the dashboard (its snapshot carries it), on every run and
every opening: chosen from the strategy names, never from the order strategies are met in."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

# colour-blind-safe (Okabe-Ito) first, then distinct tab10 hues; grey is kept for prices
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#8C564B",
    "#9467BD",
    "#BCBD22",
    "#17BECF",
)


def strategy_colours(names: Iterable[str]) -> dict[str, str]:
    """'#rrggbb' for each strategy: its name's CRC-32 picks a slot in PALETTE, and a name whose slot is taken
    (names in sorted order) takes the next free one, so the strategies of a run never share a colour while there
    are no more of them than colours. A name keeps its colour from run to run unless a new name takes its slot."""
    colours: dict[str, str] = {}
    taken: set[int] = set()
    for name in sorted(set(names)):
        slot = zlib.crc32(name.encode()) % len(PALETTE)
        if len(taken) < len(PALETTE):
            while slot in taken:
                slot = (slot + 1) % len(PALETTE)
        taken.add(slot)
        colours[name] = PALETTE[slot]
    return colours
