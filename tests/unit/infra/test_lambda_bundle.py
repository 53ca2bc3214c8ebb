"""The Lambda bundles hold exactly the allow-listed modules, those are every module a handler can import (lazy
imports included), and each handler imports from its bundle alone; dependency versions come from pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cdk.packaging import BUNDLED, DEPENDENCIES, build_asset, requirements
from infra.config import load_config
from tests.conftest import REPO_ROOT
from tests.import_graph import closure, module_file

HANDLERS = ("infra.aws.handlers.strategy", "infra.aws.handlers.execution", "infra.aws.handlers.reconciliation")
KINDS = ("strategy", "execution")
EXAMPLE = REPO_ROOT / "strategies.example.toml"

IMPORT_FROM_BUNDLE = """
import sys

# only the bundle may provide the project's packages: drop the editable install's finders
sys.meta_path[:] = [finder for finder in sys.meta_path if "__editable__" not in repr(finder)]
sys.path_hooks[:] = [hook for hook in sys.path_hooks if "__editable__" not in repr(hook)]
sys.path_importer_cache.clear()
sys.path.insert(0, sys.argv[1])
import consumers.execution.ccxt_broker  # the execution function imports it when STDS_BROKER=ccxt
for name in sys.argv[2:]:
    __import__(name)
project = ("events", "consumers", "producers", "infra", "tools", "tests")
outside = sorted(
    name for name, module in sys.modules.items()
    if name.split(".")[0] in project and not (getattr(module, "__file__", None) or "").startswith(sys.argv[1])
)
print(",".join(outside))
"""


def bundled_files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def allowed_files() -> set[str]:
    files = {"strategies.toml", "examples/strategies/momentum.py"}  # the example's strategy written as a file
    for entry in BUNDLED:
        source = REPO_ROOT / entry
        found = source.rglob("*") if source.is_dir() else [source]
        files.update(
            str(path.relative_to(REPO_ROOT))
            for path in found
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        )
    return files


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("build")
    config = load_config(EXAMPLE)
    return {kind: build_asset(kind, config, EXAMPLE, out, with_dependencies=False) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_a_bundle_holds_exactly_the_allowed_modules(bundles: dict[str, Path], kind: str) -> None:
    files = bundled_files(bundles[kind])
    assert files == allowed_files()
    assert not {path.split("/")[0] for path in files} & {"producers", "tools", "tests"}
    assert not any(path.startswith(("infra/cli", "infra/cdk", "infra/local", "infra/dashboard")) for path in files)


def test_the_allow_list_covers_every_module_a_handler_can_import(bundles: dict[str, Path]) -> None:
    needed = closure(HANDLERS)
    missing = sorted(name for name in needed if module_file(name, bundles["execution"]) is None)
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_handler_imports_from_its_bundle_alone(bundles: dict[str, Path], kind: str) -> None:
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    environment.pop("AWS_LAMBDA_FUNCTION_NAME", None)  # import only; building the app needs its environment
    environment.pop("PYTHONPATH", None)
    shown = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_FROM_BUNDLE, str(bundles[kind]), *HANDLERS],
        cwd=bundles[kind],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == ""


def test_the_functions_install_pyproject_tomls_versions(tmp_path: Path) -> None:
    assert requirements("strategy") == ["pydantic>=2.14,<2.15", "orjson>=3.9", "aws-lambda-powertools>=3.0"]
    assert requirements("execution") == [
        "pydantic>=2.14,<2.15",
        "orjson>=3.9",
        "aws-lambda-powertools[tracer]>=3.0",
        "ccxt>=4.2",
    ]
    pyproject = tmp_path / "pyproject.toml"
    dependencies = '"Pydantic==2.9.1", "orjson>=3.10", "aws-lambda-powertools[tracer]>=3.2", "ccxt>=4.4", "tqdm"'
    pyproject.write_text(f"[project]\ndependencies = [{dependencies}]\n")
    assert requirements("strategy", pyproject) == ["pydantic==2.9.1", "orjson>=3.10", "aws-lambda-powertools>=3.2"]
    assert requirements("execution", pyproject)[2:] == ["aws-lambda-powertools[tracer]>=3.2", "ccxt>=4.4"]


def test_a_dependency_pyproject_toml_lacks_is_named(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["pydantic>=2.6,<3", "orjson>=3.9"]\n')
    with pytest.raises(ValueError, match="aws-lambda-powertools"):
        requirements("strategy", pyproject)
    assert set(DEPENDENCIES) == {*KINDS, "sweep"}  # the sweep function's bundle: test_sweep_stack.py
