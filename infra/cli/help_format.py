"""How `stds … --help` shows each option's default: only where there is one to show, and only once."""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's own formatter adds "(default: None)" to an option without a default (whose real default the
    help text already names, e.g. "(default 1m)", or that has none), and "(default: False)" to every flag."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return action.help
        return super()._get_help_string(action)
