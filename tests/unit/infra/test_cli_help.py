"""`stds … --help` shows a default only where an option has one, once, and says what each command does."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from infra.cli import parser


def _every_command(command: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield command
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # an alias names the same parser again
                yield from _every_command(sub)


def _help(command: argparse.ArgumentParser) -> str:
    return " ".join(command.format_help().split())  # one line: a default wrapped onto the next line still counts


def test_no_option_shows_a_default_it_does_not_have_or_shows_it_twice() -> None:
    helps = {command.prog: _help(command) for command in _every_command(parser())}
    assert len(helps) > 15
    for prog, text in helps.items():
        assert re.findall(r"\(default: (?:None|False|\[\])\)", text) == [], prog
        assert re.findall(r"\(default[^)]*\) \(default", text) == [], prog
    assert "--out OUT folder for the report (default: out/replay)" in helps["stds replay"]
    assert "--timeframe TF the strategy's bars (default 1m;" in helps["stds run"]
    assert "--fee-bps FEE_BPS paper broker fee in basis points (default 10) --slippage-bps" in helps["stds run"]


def test_run_says_it_trades_higher_timeframes_too() -> None:
    text = _help(next(command for command in _every_command(parser()) if command.prog == "stds run"))
    assert "Stream closed bars from Binance" in text and "3m to 1d ones built from the closed minutes" in text
