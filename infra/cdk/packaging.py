"""Lambda code assets built locally (no Docker): the modules the handlers need, from an allow-list, the strategies
file, and, for a real deployment, the dependencies as ARM64 wheels for the function's Python (`pip --platform`).

Strategy functions get no ccxt: their cold start is the latency of every decision.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.config import StdsConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
# What the handlers import, and nothing else: the contract, the consumers, and of infra/ the handlers with their
# settings and stores wiring. Whatever a handler starts to import must be added here on purpose; the bundle
# test fails until it is. The CLI, the local runtime, reports, the CDK app and tools/ never reach a function.
BUNDLED = (
    "events",
    "consumers",
    "infra/__init__.py",
    "infra/config.py",
    "infra/strategy_loader.py",
    "infra/aws/__init__.py",
    "infra/aws/stores.py",
    "infra/aws/handlers",
)
# the sweep function runs `stds sweep`'s items as a replay does: the local runtime, the report, the replay readers
SWEEP_BUNDLED = (
    "infra/local",
    "infra/report",
    "infra/research",
    "producers/__init__.py",
    "producers/symbols.py",
    "producers/replay",
)
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")
LAMBDA_PYTHON = "3.13"  # not 3.14 yet: part of ccxt's dependency tree has no cp314 ARM64 wheels
# Which of pyproject.toml's dependencies each function installs, with the extras it wants; versions come from
# pyproject.toml. boto3 comes with the Lambda runtime; the strategy function skips the X-Ray SDK ([tracer]).
DEPENDENCIES = {
    "strategy": ("pydantic", "orjson", "aws-lambda-powertools"),
    "execution": ("pydantic", "orjson", "aws-lambda-powertools[tracer]", "ccxt"),
    "sweep": ("pydantic", "orjson", "pyarrow"),
}
REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*(?P<versions>.*)")


def requirements(kind: str, pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The function's pip requirements: each wanted name with its extras, at pyproject.toml's versions."""
    pinned = {}
    for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        found = REQUIREMENT.fullmatch(line.strip())
        if found is None:
            raise ValueError(f"{pyproject}: dependency {line!r} is not NAME[EXTRAS]VERSIONS")
        pinned[found["name"].lower()] = found["versions"]
    wanted = []
    for requirement in DEPENDENCIES[kind]:
        name = requirement.partition("[")[0]
        if name not in pinned:
            raise ValueError(f"{pyproject}: the {kind} function needs {name}, which [project] dependencies lacks")
        wanted.append(requirement + pinned[name])
    return wanted


def build_asset(kind: str, config: StdsConfig, config_path: Path, out: Path, *, with_dependencies: bool) -> Path:
    """Write the function's code folder under `out`; returns it."""
    folder = out / f"lambda-{kind}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for entry in BUNDLED + (SWEEP_BUNDLED if kind == "sweep" else ()):
        source, target = REPO_ROOT / entry, folder / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=SKIPPED)
        else:
            shutil.copy(source, target)
    shutil.copy(config_path, folder / "strategies.toml")
    for line in config.strategies.values():  # strategies written as files next to the configuration
        if line.use.endswith(".py"):
            source = (config_path.parent / line.use).resolve()
            target = folder / line.use
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    if with_dependencies:
        platform = ["--platform", "manylinux2014_aarch64", "--implementation", "cp", "--only-binary=:all:"]
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder), *platform]
        subprocess.run([*install, "--python-version", LAMBDA_PYTHON, *requirements(kind)], check=True)
    return folder


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
