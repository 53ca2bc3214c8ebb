"""Serving the dashboard until Ctrl-C or SIGTERM, with the address (and the token) printed first."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from infra.dashboard.server import Dashboard, DashboardSettings
from infra.dashboard.source import StateReader


async def serve(reader: StateReader, settings: DashboardSettings, host: str, port: int, *, show_token: bool) -> None:
    runner = web.AppRunner(Dashboard(reader, settings).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ValueError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    bound_port = runner.addresses[0][1]
    shown_host = f"[{host}]" if ":" in host else host
    fragment = f"#token={settings.token}" if show_token else ""
    print(f"dashboard on {settings.source}: http://{shown_host}:{bound_port}/{fragment}", flush=True)
    if show_token:
        print(f"halt/resume and every /api call need the token {settings.token}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()
