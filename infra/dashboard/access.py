"""Who may change state from the page: a token (random, printed at start, or the password in an environment
variable), and a refusal to listen beyond loopback unless that password is set."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets

TOKEN_ENV = "STDS_DASHBOARD_TOKEN"


class UnsafeBind(ValueError):
    """Listening on a non-loopback address without a password of the user's own."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def dashboard_token(host: str, environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """The token requests must carry, and whether it is the user's own (False: generated, to be printed)."""
    password = (environ if environ is not None else dict(os.environ)).get(TOKEN_ENV, "")
    if password:
        return password, True
    if not is_loopback(host):
        raise UnsafeBind(
            f"--host {host} is reachable from other machines: set a password in {TOKEN_ENV} first "
            "(halt and resume, and every read, then need it)"
        )
    return secrets.token_urlsafe(24), False


def token_matches(expected: str, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(expected.encode(), offered.encode())
