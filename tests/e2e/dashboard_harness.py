"""Test tools for the dashboard: Debian's chromium driven by Playwright, and `stds dashboard` as a real process."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ADDRESS = re.compile(r"dashboard on .*: (http://127\.0\.0\.1:\d+/)(?:#token=(\S+))?")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: `make browser` installs Debian's chromium (as root) for the dashboard tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass(frozen=True)
class RunningDashboard:
    url: str
    token: str
    process: subprocess.Popen[str]

    @property
    def page_url(self) -> str:
        return f"{self.url}#token={self.token}"


@contextlib.contextmanager
def running_dashboard(
    *args: str, env: dict[str, str] | None = None, token: str | None = None
) -> Iterator[RunningDashboard]:
    """`stds dashboard ARGS --port 0`; the address (and token) are read from what it prints first."""
    environment = {**os.environ, **(env or {})}
    environment.pop("STDS_DASHBOARD_TOKEN", None)
    if token is not None:
        environment["STDS_DASHBOARD_TOKEN"] = token
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "dashboard", "--port", "0", *args],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = ADDRESS.search(first)
        if found is None:
            process.kill()
            raise AssertionError(f"stds dashboard printed {first!r}; stderr: {process.communicate()[1]}")
        yield RunningDashboard(found.group(1), found.group(2) or token or "", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def field_values(page: Any, table: str, key_attribute: str) -> dict[str, dict[str, str]]:
    """Per row of a page table (keyed by a data attribute): each cell's exact data-value."""
    result: dict[str, dict[str, str]] = page.evaluate(
        """([table, key]) => Object.fromEntries([...document.querySelectorAll(`#${table} tbody tr`)].map((row) => [
            row.getAttribute(key),
            Object.fromEntries([...row.querySelectorAll('td[data-field]')].map((cell) =>
                [cell.dataset.field, cell.dataset.value])),
        ]))""",
        [table, key_attribute],
    )
    return result
