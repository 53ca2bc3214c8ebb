"""pytest fixtures over the emulator processes: one of each per test worker, fresh tables per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from consumers.stores.dynamodb import TableNames, create_tables
from tests.emulators.launcher import FAKE_CREDENTIALS, dynamodb_local, moto_server


@pytest.fixture(scope="session")
def aws_credentials() -> None:
    """Nothing in the tests may reach AWS: fake credentials and a fixed region for every client."""
    os.environ.update(FAKE_CREDENTIALS)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def dynamodb_endpoint(aws_credentials: None) -> Iterator[str]:
    with dynamodb_local() as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint(aws_credentials: None) -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def dynamodb(dynamodb_endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")


@pytest.fixture
def tables(dynamodb: Any) -> TableNames:
    names = TableNames.with_prefix(f"t{uuid.uuid4().hex[:10]}-")
    create_tables(dynamodb, names)
    return names


@pytest.fixture
def bar_bucket(moto_endpoint: str) -> str:
    """A fresh bucket on moto's S3, where a streamer keeps recent bars (events/bar_archive.py)."""
    name = f"bars-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name
