"""What an operator may give as the reason for a halt (`stds halt --reason`, the dashboard's halt): one rule.
Every order rejected while halted carries the reason, so it stays short."""

from __future__ import annotations

MAX_HALT_REASON_CHARS = 500


class InvalidHaltReason(ValueError):
    """The reason cannot be kept; the message says what a reason may be."""


def halt_reason(text: str) -> str:
    if len(text) > MAX_HALT_REASON_CHARS:
        raise InvalidHaltReason(
            f"a halt reason is at most {MAX_HALT_REASON_CHARS} characters (this one has {len(text):,}): shorten it"
        )
    return text
