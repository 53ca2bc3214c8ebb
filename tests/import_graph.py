"""Which project modules a module imports, read from its source (so imports inside functions count too)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO_ROOT


def module_file(name: str, root: Path = REPO_ROOT) -> Path | None:
    """The source of a project module or package, None for anything else (the standard library, wheels)."""
    path = root / name.replace(".", "/")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def imported_names(source: Path) -> set[str]:
    """Every absolute import in `source`, at any depth: `from a.b import c` gives a.b and a.b.c."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_imports(source: Path, root: Path = REPO_ROOT) -> set[str]:
    return {name for name in imported_names(source) if module_file(name, root) is not None}


def closure(starts: Iterable[str], root: Path = REPO_ROOT) -> set[str]:
    """The project modules `starts` need to import and run, their packages' __init__ included."""
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        source = module_file(name, root)
        if name in seen or source is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:depth]) for depth in range(1, len(parts)))
        todo.extend(project_imports(source, root))
    return seen
