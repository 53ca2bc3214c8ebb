"""Binance's public archive (data.binance.vision): monthly and daily kline zips, each checked against its
`.CHECKSUM` (`<sha256>  <file name>`) before a byte of it is used. Archive downloads cost no API weight."""

from __future__ import annotations

import hashlib
import io
import logging
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

ARCHIVE_URL = "https://data.binance.vision"
ATTEMPTS = 4  # a corrupt zip or a failed request is fetched again this many times in all
TIMEOUT_S = 60.0


class ArchiveUnavailable(RuntimeError):
    """The archive could not be read after every attempt (unreachable, or a zip that stays corrupt)."""


class BinanceArchive:
    """Reads `data/spot/{monthly,daily}/klines/<MARKET>/<timeframe>/<MARKET>-<timeframe>-<period>.zip`."""

    def __init__(self, base_url: str = ARCHIVE_URL, sleep: Callable[[float], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep or time.sleep  # looked up now, so a test can stub time.sleep
        self.files_read = 0
        self.refused: list[str] = []  # every zip refused for its checksum, as "<url>: <why>"

    def klines_csv(self, market: str, timeframe: str, period: str, label: str, into: Path) -> Path | None:
        """Write the CSV inside the `period` ("monthly" or "daily") zip labelled `label` (2024-01 or 2024-01-05)
        to the folder `into`; None when the archive has no such file (not published yet, or no trading)."""
        name = f"{market}-{timeframe}-{label}.zip"
        url = self.url(market, timeframe, period, label)
        for attempt in range(1, ATTEMPTS + 1):
            zipped = self._get(url)
            if zipped is None:
                return None
            checksum = self._get(url + ".CHECKSUM")
            problem = _problem(zipped, checksum, name)
            if problem is None:
                self.files_read += 1
                return _unzipped(zipped, into)
            self.refused.append(f"{url}: {problem}")
            log.warning("refused %s (attempt %d of %d): %s", url, attempt, ATTEMPTS, problem)
            self._sleep(min(2.0**attempt, 30.0))
        raise ArchiveUnavailable(f"{url}: refused {ATTEMPTS} times ({problem}); run again later")

    def url(self, market: str, timeframe: str, period: str, label: str) -> str:
        return f"{self.base_url}/data/spot/{period}/klines/{market}/{timeframe}/{market}-{timeframe}-{label}.zip"

    def _get(self, url: str) -> bytes | None:
        """The body, or None on 404; other failures are tried again, then raise ArchiveUnavailable."""
        error: Exception | None = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                    body: bytes = response.read()
                    return body
            except urllib.error.HTTPError as failure:
                if failure.code == 404:
                    return None
                error = failure
            except (urllib.error.URLError, OSError) as failure:  # refused, reset, timed out, cut short
                error = failure
            log.warning("archive request failed (attempt %d of %d): %s: %s", attempt, ATTEMPTS, url, error)
            if attempt < ATTEMPTS:
                self._sleep(min(2.0**attempt, 30.0))
        raise ArchiveUnavailable(f"cannot read {url} ({error}); check the network or --archive-url, then run again")


def _problem(zipped: bytes, checksum: bytes | None, name: str) -> str | None:
    """Why the zip cannot be trusted, or None when its SHA-256 is the one its CHECKSUM file states."""
    if checksum is None:
        return "no CHECKSUM file beside it"
    fields = checksum.decode("ascii", "replace").split()
    if len(fields) != 2 or fields[1].lstrip("*") != name or len(fields[0]) != 64:
        return f"CHECKSUM file is not '<sha256>  {name}'"
    actual = hashlib.sha256(zipped).hexdigest()
    if actual != fields[0].lower():
        return f"SHA-256 {actual} differs from the CHECKSUM's {fields[0]}"
    return None


def _unzipped(zipped: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        members = [member for member in archive.namelist() if member.endswith(".csv")]
        if len(members) != 1:
            raise ArchiveUnavailable(f"expected one CSV in the zip, found {members}")
        target = into / Path(members[0]).name
        target.write_bytes(archive.read(members[0]))
    return target
