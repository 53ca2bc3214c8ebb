"""Who may change state from the page: a token (random, printed at start, or the password in an environment
variable), a refusal to listen beyond loopback unless that password is long enough, and a limit on how fast
one address may guess it."""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TOKEN_ENV = "STDS_DASHBOARD_TOKEN"
MIN_NETWORK_TOKEN_CHARS = 16  # beyond loopback anyone may guess: with 10 tries a minute, 16 characters outlast us


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
    if password and len(password) < MIN_NETWORK_TOKEN_CHARS and not is_loopback(host):
        raise UnsafeBind(
            f"--host {host} is reachable from other machines and {TOKEN_ENV} has {len(password)} characters: "
            f"set one of at least {MIN_NETWORK_TOKEN_CHARS} (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(24))')"
        )
    if password:
        return password, True
    if not is_loopback(host):
        raise UnsafeBind(
            f"--host {host} is reachable from other machines: set a password in {TOKEN_ENV} first "
            "(halt and resume, and every read, then need it)"
        )
    return secrets.token_urlsafe(24), False


def token_matches(expected: str, offered: str | None) -> bool:
    # surrogatepass: a header or query that is not UTF-8 arrives with lone surrogates; it is a wrong token, not a 500
    return offered is not None and hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), offered.encode("utf-8", "surrogatepass")
    )


@dataclass
class FailedTokens:
    """A token bucket of wrong tokens per client address: `burst` at once, then one every `refill_s`
    seconds. An address whose bucket is empty is refused before its token is even compared."""

    burst: int = 10
    refill_s: float = 6.0
    clock: Callable[[], float] = time.monotonic
    max_addresses: int = 10_000  # a flood of addresses forgets the ones that have waited longest
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # address → (tries left, at)

    def retry_after_s(self, address: str) -> int | None:
        """Whole seconds until `address` may try again, or None if it may now."""
        left = self._left(address)
        return None if left >= 1 else math.ceil((1 - left) * self.refill_s)

    def failed(self, address: str) -> None:
        left = self._left(address)
        self._buckets.pop(address, None)  # re-inserted last: the dict stays in order of last failure
        self._buckets[address] = (max(0.0, left - 1), self.clock())
        if len(self._buckets) > self.max_addresses:
            del self._buckets[next(iter(self._buckets))]

    def _left(self, address: str) -> float:
        if address not in self._buckets:
            return float(self.burst)
        left, at = self._buckets[address]
        return min(float(self.burst), left + (self.clock() - at) / self.refill_s)
