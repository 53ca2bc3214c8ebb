"""The README's layout table matches the tree: every folder it names exists, and every package is named in it."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

TOP_LEVEL = ("events", "producers", "consumers", "infra", "tools", "tests")


def named_folders() -> list[str]:
    """The folders the layout table names in backticks (`tests/`' own `unit/`, `e2e/`... are not from the root)."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    return [name for name in re.findall(r"`([a-z_]+(?:/[a-z_]+)*/)`", table) if name.startswith(TOP_LEVEL)]


def test_every_folder_the_layout_names_exists() -> None:
    named = named_folders()
    assert len(named) >= len(TOP_LEVEL)
    assert [folder for folder in named if not (REPO_ROOT / folder).is_dir()] == []


def test_every_package_and_room_of_infra_and_tools_is_in_the_layout() -> None:
    named = named_folders()
    rooms = [path.parent for root in ("infra", "tools") for path in sorted((REPO_ROOT / root).glob("*/__init__.py"))]
    packages = [*(f"{name}/" for name in TOP_LEVEL), *(f"{room.relative_to(REPO_ROOT)}/" for room in rooms)]
    assert [package for package in packages if not any(folder.startswith(package) for folder in named)] == []
