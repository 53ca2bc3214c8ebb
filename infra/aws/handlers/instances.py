"""Lambda's execution environments, as one process sees them: an invocation runs on an idle instance of the
function's app (warm) or on a new one (cold), and never shares an instance with another invocation.

On Lambda there is one invocation at a time per process, so this is always the one warm instance. Where
invocations run concurrently in one process (the tests' poller, the benchmark), each gets an app of its own
as concurrent Lambda instances would, so an app may keep per-invocation state (a strategy's accounts read
once per batch) without locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

App = TypeVar("App")


class Instances(Generic[App]):
    """`function` names the function an invocation is for (on Lambda, always the same one): a process that
    hosts several functions' invocations (the tests' poller) keeps their instances apart."""

    def __init__(self, build: Callable[[], App], function: Callable[[], str] = lambda: "") -> None:
        self.build = build
        self.function = function
        self._idle: dict[str, list[App]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def take(self) -> Iterator[App]:
        """An instance for one invocation, returned to the idle ones when it ends."""
        function = self.function()
        with self._lock:
            idle = self._idle.setdefault(function, [])
            app = idle.pop() if idle else None
        if app is None:
            app = self.build()
        try:
            yield app
        finally:
            with self._lock:
                self._idle.setdefault(function, []).append(app)

    def __call__(self) -> App:
        """A warm instance (built now if none is idle), left idle: for init, and for tests to reach its clients."""
        with self.take() as app:
            return app

    def cache_clear(self) -> None:
        """Forget every instance (the next invocation starts cold)."""
        with self._lock:
            self._idle.clear()
