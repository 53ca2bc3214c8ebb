"""One colour per strategy, the same in chart.png and on the dashboard (its snapshot carries it), on every run and
every opening: chosen from the strategy's name alone, never from the order strategies are met in."""

from __future__ import annotations

import zlib

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


def strategy_colour(name: str) -> str:
    """'#rrggbb' for a strategy: its name's CRC-32 picks from PALETTE (two names may share one; a name never
    changes colour)."""
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]
