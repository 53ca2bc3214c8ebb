"""The streamer image's command as Fargate runs it, without Docker: the Dockerfile's entrypoint, environment
and non-root user, in a read-only copy of its /app, against a local Binance that sends malformed messages,
publishing minute batches to moto's EventBridge and its bar archive to moto's S3, with cursors in DynamoDB Local and
its metric to moto's CloudWatch.

What Docker would give and this emulates: the user (setpriv to the Dockerfile's uid), /app owned by root and
not writable, /tmp writable (a directory standing for the container's /tmp), the ENV lines, and what `pip install .`
puts in the image: pyproject.toml's dependencies and theirs (never the dev ones), with a `stds` script. All of it
is laid out in a world-readable temporary folder, so the test passes wherever the checkout and its venv live, a
folder other users cannot enter (`mktemp -d`, a 0700 home) included.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumers.stores.dynamodb import TableNames, create_tables
from infra.aws.delivered_bars_metric import DIMENSION, METRIC_NAME, NAMESPACE
from infra.aws.stream import streamer_command
from tests.conftest import REPO_ROOT, spot_day_bars
from tests.emulators.aws import archived_bars, bars_in, client, envelopes_in, queue_behind_rule
from tests.emulators.launcher import FAKE_CREDENTIALS
from tools.local_exchange.faults import FaultPlan
from tools.local_exchange.server import LocalBinance
from tools.local_exchange.tape import Tape

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
BARS = 240


def dockerfile_env() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", DOCKERFILE, re.MULTILINE):
        found.update(item.split("=", 1) for item in shlex.split(line))
    return found


def dockerfile_user() -> int:
    (uid,) = re.findall(r"useradd --uid (\d+)", DOCKERFILE)
    return int(uid)


def entrypoint() -> list[str]:
    (line,) = re.findall(r"^ENTRYPOINT (.+)$", DOCKERFILE, re.MULTILINE)
    return list(orjson.loads(line))


@pytest.fixture
def container() -> Iterator[tuple[Path, Path, Path]]:
    """A read-only copy of /app as the Dockerfile fills it, the image's installed packages and `stds` script, and a
    writable stand-in for the container's /tmp."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the command as the image's non-root user")
    interpreter = Path(sys.executable).resolve()  # the venv's base Python: the image's own is 3.13-slim's
    reachable = subprocess.run([*as_image_user(), str(interpreter), "-c", ""], capture_output=True, check=False)
    if reachable.returncode != 0:
        pytest.skip(f"{interpreter} cannot be run by uid {dockerfile_user()}: {reachable.stderr.decode()[-300:]}")
    root = Path(tempfile.mkdtemp(prefix="stds-image-"))
    root.chmod(0o755)  # mkdtemp's folder is private to root; the task's user must reach /app
    app, installed, container_tmp = root / "app", root / "site-packages", root / "tmp"
    app.mkdir()
    for source in [*re.findall(r"^COPY (\S+) \S+$", DOCKERFILE, re.MULTILINE), "pyproject.toml", "README.md"]:
        path = REPO_ROOT / source
        if path.is_dir():
            shutil.copytree(path, app / source, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        elif path.exists():
            shutil.copy(path, app / source)
    install_dependencies(installed)
    scripts = root / "bin"
    scripts.mkdir()
    stds = scripts / "stds"  # the console script pip writes for [project.scripts]; -S: no site-packages but those
    stds.write_text(f"#!{interpreter} -S\nimport sys\nfrom infra.cli import main\nsys.exit(main())\n")
    for path in [app, installed, scripts, *app.rglob("*"), *installed.rglob("*"), stds]:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o111 if path.is_dir() or path == stds else 0))
    container_tmp.mkdir()
    container_tmp.chmod(0o1777)
    try:
        yield app, root, container_tmp
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(root)


def as_image_user() -> list[str]:
    uid = dockerfile_user()
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def install_dependencies(target: Path) -> None:
    """What `pip install .` installs besides the project: pyproject.toml's dependencies and, in turn, theirs (with
    the extras asked for), each distribution's files hard-linked (or copied, across file systems) from this venv."""
    wanted = list(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    done: set[str] = set()
    while wanted:
        found = REQUIREMENT.match(wanted.pop())
        assert found is not None
        name, extras = found["name"].lower().replace("_", "-"), {e.strip() for e in (found["extras"] or "").split(",")}
        if name in done:
            continue
        done.add(name)
        distribution = metadata.distribution(name)
        for line in distribution.requires or []:
            requirement, _, marker = line.partition(";")
            asked = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if asked and not extras & set(asked):
                continue  # an extra nobody asked for
            if not asked and marker.strip() and not _installed(REQUIREMENT.match(requirement)["name"]):  # type: ignore[index]
                continue  # for another Python or platform
            wanted.append(requirement)
        for file in distribution.files or []:
            if file.parts[0] == "..":  # scripts and data outside site-packages
                continue
            source, copy = Path(str(distribution.locate_file(file))), target / file
            copy.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, copy)
            except OSError:  # another file system
                shutil.copy2(source, copy)


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


REQUIREMENT = re.compile(r"\s*(?P<name>[A-Za-z0-9._-]+)\s*(?:\[(?P<extras>[^\]]*)\])?")


def test_the_image_command_as_its_user_in_a_read_only_app_keeps_malformed_messages_and_streams_on(
    container: tuple[Path, Path, Path], moto_endpoint: str, dynamodb_endpoint: str, dynamodb: Any
) -> None:
    app, image, container_tmp = container
    uid = dockerfile_user()
    bars = spot_day_bars(BARS)
    exchange = LocalBinance(Tape.of(bars), speed=1200, faults=FaultPlan(malformed=0.1, seed=11))
    bus_name, prefix = f"image-{uuid.uuid4().hex[:8]}", f"i{uuid.uuid4().hex[:8]}-"
    client("events", moto_endpoint).create_event_bus(Name=bus_name)
    queue = queue_behind_rule(moto_endpoint, bus_name, "bars", {"detail-type": ["BarsClosed"]})
    client("s3", moto_endpoint).create_bucket(Bucket=bus_name)
    create_tables(dynamodb, TableNames.with_prefix(prefix))
    image_env = {k: v.replace("/tmp/", f"{container_tmp}/", 1) for k, v in dockerfile_env().items()}
    environment = {
        "PATH": f"{image / 'bin'}:/usr/bin:/bin", "HOME": str(container_tmp),
        # the image's code is the read-only copy, not this checkout, beside what pip installed, not this venv
        "PYTHONPATH": f"{app}:{image / 'site-packages'}", "PYTHONNOUSERSITE": "1",
        **image_env, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint,
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto_endpoint, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
    }  # fmt: skip

    async def run() -> tuple[int, str, str]:
        async with exchange.running() as (ws_url, rest_url):
            command = [
                *entrypoint(), *streamer_command(["BTC/USDT"], ["--event-bus", bus_name], prefix, bucket=bus_name),
                "--ws-url", ws_url, "--rest-url", rest_url, "--since", str(bars[0].open_time_ms),
                "--duration", "25",  # the tape lasts 12 s: most of it over the websocket
            ]  # fmt: skip
            as_user = [*as_image_user(), *command]
            process = await asyncio.create_subprocess_exec(
                *as_user, cwd=app, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await process.communicate()
            return process.returncode or 0, out.decode(), err.decode()

    code, out, err = asyncio.run(run())
    assert code == 0, err[-3000:]
    summary = dict(item.split("=", 1) for item in out.split())
    malformed = int(summary["malformed"])
    assert malformed > 0 and summary["all_delivered"] == "True"
    assert "connection lost" not in err  # a malformed message is no reason to drop the socket
    assert not any(app.rglob("*.jsonl")) and not (app / "out").exists()  # nothing written into /app
    letters_file = Path(image_env["STDS_DEAD_LETTERS"])
    letters = [orjson.loads(line) for line in letters_file.read_text().splitlines()]
    assert len(letters) == malformed and letters_file.stat().st_uid == uid
    assert {letter["payload"] for letter in letters} == {'{"stream": oops not json'}
    assert err.count("malformed message dropped") == malformed and "payload=" in err  # and in the task's log
    received = bars_in(envelopes_in(moto_endpoint, queue))
    published = int(summary["published"])  # all 240 unless a loaded machine slowed the start past the tape
    assert published > BARS // 2
    expected = Counter(bar.open_time_ms for bar in bars[:published])
    assert Counter(bar.open_time_ms for bar in received) == expected
    assert Counter(bar.open_time_ms for bar in archived_bars(moto_endpoint, bus_name)) == expected  # written once
    statistics = client("cloudwatch", moto_endpoint).get_metric_statistics(
        Namespace=NAMESPACE, MetricName=METRIC_NAME, Dimensions=[{"Name": DIMENSION, "Value": prefix}],
        StartTime=0, EndTime=2**31, Period=60, Statistics=["Sum"],
    )  # fmt: skip
    assert sum(point["Sum"] for point in statistics["Datapoints"]) == published  # what the lag alarm watches
