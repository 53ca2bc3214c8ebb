"""Exchange keys for `stds run --broker ccxt`: from the environment, or a key file that only its owner can
read and that lives outside the repository (so it can never be committed). Errors name the file, never
its content."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from consumers.execution.ccxt_broker import (
    API_KEY_VARIABLE,
    SECRET_VARIABLE,
    Credentials,
    MissingCredentials,
    credentials_from_environment,
    credentials_from_json,
)
from infra.config import utf8_text

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_credentials(
    key_file: Path | None, environ: Mapping[str, str] = os.environ, repo_root: Path = REPO_ROOT
) -> Credentials:
    """The key file when one is given, else the environment; MissingCredentials says what to do."""
    if key_file is None:
        try:
            return credentials_from_environment(environ)
        except MissingCredentials:
            raise MissingCredentials(
                f"no exchange keys: set {API_KEY_VARIABLE} and {SECRET_VARIABLE}, or give --key-file "
                '(a JSON file {"apiKey": ..., "secret": ...} outside the repo, chmod 600)'
            ) from None
    path = key_file.expanduser().resolve()
    if path.is_relative_to(repo_root.resolve()):
        raise MissingCredentials(f"{key_file}: a key file inside the repository could be committed; move it out")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MissingCredentials(f"{key_file}: no such key file") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MissingCredentials(
            f"{key_file}: readable by others (mode {stat.filemode(mode)}); run chmod 600 {key_file}"
        )
    return credentials_from_json(utf8_text(path), f"key file {key_file}")
