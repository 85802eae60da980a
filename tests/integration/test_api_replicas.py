"""The web app and REST API are stateless: two API processes (persister off) behind one address, as a
Kubernetes Service puts them, keep answering while one of them is SIGKILLed; a client that retries a
request whose connection broke (as browsers and HTTP clients do for idempotent requests) sees no error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.testkit import eventually_async, holds
from drawnet.testkit.balancer import Balancer

pytestmark = pytest.mark.integration

SERVICE_TOKEN = "api-replicas-service-token-0123456789abcdef"  # noqa: S105 - a test token


@pytest.fixture
def replicas(nats_server: NatsServer, database_url: str, tmp_path: Path) -> Iterator[list[DrawingService]]:
    # One after the other (a comprehension runs in order): the first one migrates the database.
    started = [
        DrawingService(
            nats_url=nats_server.url,
            database_url=database_url,
            log_path=tmp_path / f"{name}.log",
            service_token=SERVICE_TOKEN,
            extra_env={"DRAWNET_DRAWING_PERSIST": "false"},
        ).start(timeout=90)
        for name in ("a", "b")
    ]
    yield started
    for service in started:
        service.stop()


async def _get(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], *, retries: int = 2
) -> httpx.Response:
    for attempt in range(retries + 1):
        try:
            return await http.get(path, headers=headers)
        except httpx.TransportError:
            if attempt == retries:
                raise
    raise AssertionError("unreachable")


async def test_two_api_processes_keep_answering_while_one_is_killed(replicas: list[DrawingService]) -> None:
    balancer = await Balancer([(s.host, s.port) for s in replicas]).start()
    try:
        async with httpx.AsyncClient(base_url=balancer.url, timeout=10) as http:
            login = await _login(http)
            made = await http.post("/api/v1/sessions", json={"title": "Both"}, headers=login)
            assert made.status_code == 201, made.text
            name = made.json()["name"]
            answered: list[int] = []
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    for path in ("/readyz", "/api/v1/auth/me", f"/api/v1/sessions/{name}/board"):
                        response = await _get(http, path, login)
                        answered.append(response.status_code)

            loop = asyncio.create_task(load())
            await eventually_async(holds(lambda: len(answered) >= 30), what="answers from both")
            assert replicas[0].process is not None
            replicas[0].process.kill()  # SIGKILL, mid-load
            before = len(answered)
            await eventually_async(
                holds(lambda: len(answered) >= before + 60 or loop.done()), what="answers after the kill"
            )
            assert not loop.done(), loop.exception()
            stop.set()
            await loop
        assert set(answered) == {200}, sorted(set(answered))
    finally:
        await balancer.close()


async def _login(http: httpx.AsyncClient) -> dict[str, str]:
    """A login made through one replica: stored in SQL, so every replica accepts it."""
    account = {"username": "ann", "password": "correct horse battery", "display_name": "Ann"}
    registered = await http.post("/api/v1/users", json=account)
    assert registered.status_code == 201, registered.text
    response = await http.post("/api/v1/auth/login", json={k: account[k] for k in ("username", "password")})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
