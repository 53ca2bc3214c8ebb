"""The dashboard against hostile requests: a guessable token is refused at start, guessing is slowed per
address, and every bad request is a 4xx that changes nothing (never a 500)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from consumers.stores.sqlite import SqliteKillSwitch, open_existing
from infra.cli import main
from infra.dashboard.access import MIN_NETWORK_TOKEN_CHARS, FailedTokens, UnsafeBind, dashboard_token
from infra.dashboard.server import Dashboard, DashboardSettings
from infra.dashboard.sqlite_reader import SqliteReader
from infra.halt_reason import MAX_HALT_REASON_CHARS
from tests.conftest import BTCUSDT_SPOT_DAY

TOKEN = "a-token-of-twenty-four-c"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    argv = ["replay", str(BTCUSDT_SPOT_DAY), "--strategy", "sma_cross", "--out", str(out)]
    assert main([*argv, "--no-progress", "--no-chart"]) == 0
    return out / "state.sqlite"


def halted(state: Path) -> str | None:
    """The reason the kill switch was engaged with, or None."""
    connection = open_existing(state)
    try:
        engaged = SqliteKillSwitch(connection).engaged()
    finally:
        connection.close()
    return None if engaged is None else engaged.reason


def against(
    state: Path, talk: Callable[[TestClient[Any, Any]], Awaitable[None]], failed: FailedTokens | None = None
) -> None:
    """Run `talk` against a dashboard on `state`, served on loopback."""

    async def serving() -> None:
        dashboard = Dashboard(SqliteReader(state), DashboardSettings(TOKEN, str(state)), failed)
        async with TestClient(TestServer(dashboard.app())) as client:
            await talk(client)

    asyncio.run(serving())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "dashboard.example.com"])
def test_a_short_token_is_refused_for_a_host_beyond_loopback(host: str) -> None:
    short = "x" * (MIN_NETWORK_TOKEN_CHARS - 1)
    with pytest.raises(UnsafeBind, match=f"has {len(short)} characters: set one of at least 16") as refused:
        dashboard_token(host, {"STDS_DASHBOARD_TOKEN": short})
    assert short not in str(refused.value)
    assert dashboard_token(host, {"STDS_DASHBOARD_TOKEN": "y" * MIN_NETWORK_TOKEN_CHARS}) == ("y" * 16, True)
    assert dashboard_token("127.0.0.1", {"STDS_DASHBOARD_TOKEN": "z"}) == ("z", True)  # loopback: the user's choice


def test_stds_dashboard_with_a_short_token_on_all_addresses_is_one_line(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STDS_DASHBOARD_TOKEN", "x")
    assert main(["dashboard", "--db", str(state), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("stds: error: --host 0.0.0.0 is reachable") and len(error.splitlines()) == 1


def test_failed_tokens_refill_one_per_period_after_a_burst() -> None:
    clock = Clock()
    limit = FailedTokens(burst=3, refill_s=6.0, clock=clock)
    for _ in range(3):
        assert limit.retry_after_s("192.0.2.1") is None
        limit.failed("192.0.2.1")
    assert limit.retry_after_s("192.0.2.1") == 6
    assert limit.retry_after_s("192.0.2.2") is None  # per address
    clock.now += 4.5
    assert limit.retry_after_s("192.0.2.1") == 2
    clock.now += 1.5
    assert limit.retry_after_s("192.0.2.1") is None
    limit.failed("192.0.2.1")
    assert limit.retry_after_s("192.0.2.1") == 6


@given(st.lists(st.tuples(st.floats(0, 30), st.integers(0, 5)), max_size=40))
def test_no_address_fails_more_than_the_burst_plus_one_per_refill(steps: list[tuple[float, int]]) -> None:
    clock = Clock()
    limit = FailedTokens(burst=10, refill_s=6.0, clock=clock, max_addresses=2)
    started, taken = clock.now, 0
    for pause_s, tries in steps:
        clock.now += pause_s
        for _ in range(tries):
            if limit.retry_after_s("192.0.2.1") is None:
                limit.failed("192.0.2.1")
                taken += 1
            limit.failed("198.51.100.9")  # another address, never limited by the first one's failures
    assert min(10, sum(tries for _, tries in steps)) <= taken <= 10 + (clock.now - started) / 6.0


def test_guessing_the_token_is_answered_429_with_retry_after_even_for_the_right_one(state: Path) -> None:
    clock = Clock()

    async def talk(client: TestClient[Any, Any]) -> None:
        for attempt in range(10):
            wrong = await client.get("/api/snapshot", headers={"Authorization": f"Bearer guess-{attempt}"})
            assert wrong.status == 401
        limited = await client.get("/api/snapshot", headers=BEARER)
        assert (limited.status, limited.headers["Retry-After"]) == (429, "6")
        assert (await client.post("/api/halt", headers=BEARER)).status == 429
        clock.now += 6
        assert (await client.get("/api/snapshot", headers=BEARER)).status == 200

    against(state, talk, FailedTokens(clock=clock))
    assert halted(state) is None


@pytest.mark.parametrize(
    "token", ["tökén", "\u00ff" * 24, "%FF%FE", "%ED%A0%80"], ids=["accents", "latin-1", "not-utf8", "surrogate"]
)
def test_a_non_ascii_token_is_401_not_500(state: Path, token: str) -> None:
    async def talk(client: TestClient[Any, Any]) -> None:
        assert (await client.get(f"/api/snapshot?token={token}")).status == 401
        if token.isprintable() and "%" not in token:
            header = {"Authorization": f"Bearer {token}".encode().decode("latin-1")}
            assert (await client.post("/api/halt", headers=header)).status == 401

    against(state, talk)
    assert halted(state) is None


@pytest.mark.parametrize("token", [b"\xff\xfe", b"t\xc3\xb6k\xc3\xa9n", b"\xed\xa0\x80"])
def test_a_token_header_that_is_not_ascii_is_401_not_500(state: Path, token: bytes) -> None:
    async def talk(client: TestClient[Any, Any]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        writer.write(b"POST /api/halt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nAuthorization: Bearer " + token)
        writer.write(b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 401 "), status_line

    against(state, talk)
    assert halted(state) is None


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"halt"', b"1", b"null", b'{"reason": 5}', b'{"reason": ["a"]}', b"{not json", b"\xff\xfe"],
)
def test_a_halt_whose_body_is_not_an_object_with_a_string_reason_is_400_and_halts_nothing(
    state: Path, body: bytes
) -> None:
    async def talk(client: TestClient[Any, Any]) -> None:
        answer = await client.post("/api/halt", data=body, headers={**BEARER, "Content-Type": "application/json"})
        assert answer.status == 400
        assert 'reason": "..."}' in await answer.text()

    against(state, talk)
    assert halted(state) is None


def test_a_halt_reason_is_bounded_to_500_characters(state: Path) -> None:
    async def talk(client: TestClient[Any, Any]) -> None:
        too_long = {"reason": "x" * (MAX_HALT_REASON_CHARS + 1)}
        answer = await client.post("/api/halt", json=too_long, headers=BEARER)
        assert answer.status == 400 and "at most 500 characters (this one has 501)" in await answer.text()
        assert halted(state) is None
        longest = {"reason": "y" * MAX_HALT_REASON_CHARS}
        assert (await client.post("/api/halt", json=longest, headers=BEARER)).status == 200
        assert halted(state) == "y" * MAX_HALT_REASON_CHARS
        assert (await client.post("/api/resume", headers=BEARER)).status == 200

    against(state, talk)
    assert halted(state) is None


def test_stds_halt_bounds_the_reason_the_same_way(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        main(["halt", "--db", str(state), "--reason", "z" * (MAX_HALT_REASON_CHARS + 1)])
    assert leaving.value.code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .endswith("at most 500 characters (this one has 501): shorten it")
    )
    assert halted(state) is None


@pytest.mark.parametrize("query", ["from=inf", "from=-inf", "to=inf", "from=nan", "from=1e400", "to=-1", "from=x"])
@pytest.mark.parametrize("path", ["/api/equity", "/api/symbol?exchange=binance&symbol=BTC/USDT&"])
def test_a_time_that_is_no_time_is_400(state: Path, path: str, query: str) -> None:
    async def talk(client: TestClient[Any, Any]) -> None:
        joined = f"{path}{query}" if path.endswith("&") else f"{path}?{query}"
        answer = await client.get(joined, headers=BEARER)
        assert answer.status == 400 and "seconds since the epoch" in await answer.text()

    against(state, talk)
