"""Lambda code assets built locally (no Docker): the project's packages, the strategies file, and, for a
real deployment, the dependencies as ARM64 wheels for the function's Python (`pip --platform`).

Strategy functions get no ccxt: their cold start is the latency of every decision.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from infra.config import StdsConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("events", "consumers", "producers", "infra")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "cdk", "local_exchange", "bench*.py")
LAMBDA_PYTHON = "3.13"  # not 3.14 yet: part of ccxt's dependency tree has no cp314 ARM64 wheels
REQUIREMENTS = {
    "strategy": ["pydantic>=2.6,<3", "orjson>=3.9", "aws-lambda-powertools>=3.0"],
    "execution": ["pydantic>=2.6,<3", "orjson>=3.9", "aws-lambda-powertools[tracer]>=3.0", "ccxt>=4.2"],
}


def build_asset(kind: str, config: StdsConfig, config_path: Path, out: Path, *, with_dependencies: bool) -> Path:
    """Write the function's code folder under `out`; returns it. boto3 comes with the Lambda runtime."""
    folder = out / f"lambda-{kind}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, folder / package, ignore=SKIPPED)
    shutil.copy(config_path, folder / "strategies.toml")
    for line in config.strategies.values():  # strategies written as files next to the configuration
        if line.use.endswith(".py"):
            source = (config_path.parent / line.use).resolve()
            target = folder / line.use
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    if with_dependencies:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder),
             "--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
             "--only-binary=:all:", *REQUIREMENTS[kind]],
            check=True,
        )  # fmt: skip
    return folder


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
