"""Dependencies point one way: producers and consumers import only the contract (events/), never each other,
and events/ imports none of them. Imports inside functions count: a lazy import is still a dependency."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tests.import_graph import project_imports

FORBIDDEN = {
    "events": ("producers", "consumers", "infra", "tools", "tests"),
    "producers": ("consumers", "infra", "tools", "tests"),
    "consumers": ("producers", "infra", "tools", "tests"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_or_beside_it(package: str) -> None:
    crossing = [
        f"{source.relative_to(REPO_ROOT)} imports {name}"
        for source in sorted((REPO_ROOT / package).rglob("*.py"))
        for name in sorted(project_imports(source))
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert crossing == []
