"""Start DynamoDB Local and moto's server on free loopback ports, wait until they answer, stop them after.

`make test` installs DynamoDB Local (npm package amplify-dynamodb-simulator, which ships
DynamoDBLocal.jar) into .cache/; each pytest worker starts its own in-memory instance.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DYNAMODB_LOCAL = REPO_ROOT / ".cache/dynamodb-local/node_modules/amplify-dynamodb-simulator/emulator"

# the emulators accept any credentials; fixed ones keep every client in the same DynamoDB Local namespace
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # not a secret: what moto and DynamoDB Local document for tests
    "AWS_DEFAULT_REGION": "us-east-1",
}


class EmulatorMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], name: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before answering on {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered, even if with an error status
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer on {url} within {timeout_s:.0f}s")


@contextmanager
def _running(command: list[str], url: str, name: str, cwd: Path | None = None) -> Iterator[str]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(url, process, name)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def java_major_version() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    quoted = shown.split('"')
    if len(quoted) < 2:
        return None
    version = quoted[1]
    major = version.split(".")[1] if version.startswith("1.") else version.split(".")[0]
    return int(major) if major.isdigit() else None


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """An in-memory DynamoDB Local; yields its endpoint URL."""
    jar = DYNAMODB_LOCAL / "DynamoDBLocal.jar"
    if not jar.exists():
        raise EmulatorMissing(f"DynamoDB Local is not installed at {jar}: run `make test` (or `make emulators`)")
    major = java_major_version()
    if major is None or major < 17:
        raise EmulatorMissing(f"DynamoDB Local needs Java 17+ on PATH (found {major}); install openjdk-17-jre")
    port = free_port()
    command = ["java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory"]
    with _running([*command, "-port", str(port)], f"http://127.0.0.1:{port}", "DynamoDB Local", DYNAMODB_LOCAL) as url:
        yield url


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server (EventBridge, SNS, SQS, Secrets Manager… all on one port); yields its endpoint URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _running(command, f"http://127.0.0.1:{port}/moto-api/", "moto server") as url:
        yield url.removesuffix("/moto-api/")
