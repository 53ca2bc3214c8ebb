"""A loopback data.binance.vision: kline zips with their `.CHECKSUM` files, made from shared data, with faults.

Files are added as (period, market, timeframe, label, csv bytes); a file can be served corrupted a number of times
(its CHECKSUM stays right), and a request can be held until the test lets it go (to kill a client mid-run).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class LocalArchive:
    files: dict[str, bytes] = field(default_factory=dict)  # URL path → body
    corrupt_times: dict[str, int] = field(default_factory=dict)  # zip path → times still to serve it corrupted
    held: dict[str, threading.Event] = field(default_factory=dict)  # path → released when set
    reached: dict[str, threading.Event] = field(default_factory=dict)  # path → set once a request for it arrives
    requests: Counter[str] = field(default_factory=Counter)

    def add(self, period: str, market: str, timeframe: str, label: str, csv: bytes) -> str:
        """Serve `csv` zipped as the archive names it; returns the zip's URL path."""
        name = f"{market}-{timeframe}-{label}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{name}.csv", csv)
        zipped = buffer.getvalue()
        path = f"/data/spot/{period}/klines/{market}/{timeframe}/{name}.zip"
        self.files[path] = zipped
        self.files[path + ".CHECKSUM"] = f"{hashlib.sha256(zipped).hexdigest()}  {name}.zip\n".encode()
        return path

    def hold(self, path: str) -> tuple[threading.Event, threading.Event]:
        """Requests for `path` wait until the first event is set; the second is set when one arrives."""
        self.held[path], self.reached[path] = threading.Event(), threading.Event()
        return self.held[path], self.reached[path]

    def archive_requests(self) -> int:
        return sum(self.requests.values())

    def body(self, path: str) -> bytes | None:
        self.requests[path] += 1
        if path in self.reached:
            self.reached[path].set()
            self.held[path].wait(60)
        body = self.files.get(path)
        if body is not None and self.corrupt_times.get(path, 0) > 0:
            self.corrupt_times[path] -= 1
            return body[:-40] + bytes(40)  # the tail zeroed, as a cut-short transfer leaves it
        return body

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Serve on a free 127.0.0.1 port until the block ends; yields the base URL."""
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = archive.body(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            for event in self.held.values():
                event.set()
            server.shutdown()
            server.server_close()
