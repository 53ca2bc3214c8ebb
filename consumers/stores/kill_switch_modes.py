"""The kill switch's modes and what each lets through, in words: kept apart from the stores so the CLI and the
dashboard name them without importing the trading code."""

from __future__ import annotations

from typing import Literal

KillSwitchMode = Literal["halt", "reduce-only", "flatten"]
KILL_SWITCH_MODES: tuple[KillSwitchMode, ...] = ("halt", "reduce-only", "flatten")
WHAT_EACH_MODE_DOES: dict[KillSwitchMode, str] = {
    "halt": "every order is rejected",
    "reduce-only": "only orders toward a flat position trade (a sell of at most a long, a buy of at most a short)",
    "flatten": "every position is closed at market at the next bar, then every order is rejected (halt)",
}
