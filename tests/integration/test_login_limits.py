"""Login, registration and guest limits that hold against a real attacker: keyed by user name and by
address, shared by every replica of the API (in the database), and blind to an X-Forwarded-For header
from anyone but a configured proxy. Two real drawing-service processes on one database."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.drawing.settings import DrawingSettings
from drawnet.embedded.components import DrawingService, NatsServer

pytestmark = pytest.mark.integration

PER_USER = 4
PER_ADDRESS = 6
REGISTER = 3
GUESTS = 3
OPEN_BOARDS = 3
PROXIES = "127.0.4.0/24"
"""The ingress controller's network (no other test's address is in it): from there, X-Forwarded-For names
the client."""
LIMITS = {
    "DRAWNET_DRAWING_TRUSTED_PROXIES": PROXIES,
    "DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_MINUTE": str(PER_USER),
    "DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": str(PER_ADDRESS),
    "DRAWNET_DRAWING_REGISTER_PER_MINUTE": str(REGISTER),
    "DRAWNET_DRAWING_GUEST_JOINS_PER_MINUTE": str(GUESTS),
    "DRAWNET_DRAWING_OPEN_BOARDS_PER_ADDRESS_PER_HOUR": str(OPEN_BOARDS),
    "DRAWNET_DRAWING_COOKIE_SECURE": "false",
}


@pytest.fixture(scope="module")
def replicas(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[DrawingService]]:
    folder: Path = tmp_path_factory.mktemp("replicas")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    first = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "a.log",
        extra_env=LIMITS,
    ).start(timeout=90)
    second = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "b.log",
        extra_env={**LIMITS, "DRAWNET_DRAWING_PERSIST": "false"},  # one persister per op log
    ).start(timeout=90)
    yield [first, second]
    second.stop()
    first.stop()
    nats_server.stop()


_addresses = itertools.count(10)


def new_address() -> str:
    """A loopback address of its own (127.0.x.y), so per-address limits count this test alone."""
    n = next(_addresses)
    return f"127.0.{n // 250}.{n % 250 + 2}"


def client(service: DrawingService, address: str | None = None) -> httpx.Client:
    address = address or new_address()
    return httpx.Client(
        base_url=service.url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def attempt(http: httpx.Client, username: str, **headers: str) -> int:
    body = {"username": username, "password": "not the password"}
    return http.post("/api/v1/auth/login", json=body, headers=headers).status_code


def test_guessing_one_user_s_password_is_limited_across_addresses_and_replicas(
    replicas: list[DrawingService],
) -> None:
    victim = f"victim-{secrets.token_hex(3)}"
    clients = [client(replicas[n % 2]) for n in range(PER_USER + 1)]
    statuses = [attempt(http, victim) for http in clients]
    assert statuses[:PER_USER] == [401] * PER_USER
    assert statuses[PER_USER] == 429
    refused = clients[0].post("/api/v1/auth/login", json={"username": victim, "password": "x" * 8})
    assert refused.headers["Retry-After"].isdigit()
    assert refused.json()["limit"] == "login_attempts_per_minute"
    for http in clients:
        http.close()


def test_one_address_is_limited_whatever_user_names_and_forwarded_for_it_sends(
    replicas: list[DrawingService],
) -> None:
    address = new_address()
    with client(replicas[0], address) as first, client(replicas[1], address) as second:
        statuses = [
            attempt(
                (first, second)[n % 2],
                f"user-{secrets.token_hex(3)}",
                **{"X-Forwarded-For": f"198.51.100.{n}"},
            )
            for n in range(PER_ADDRESS + 1)
        ]
    assert statuses[:PER_ADDRESS] == [401] * PER_ADDRESS
    assert statuses[PER_ADDRESS] == 429


def test_behind_a_trusted_proxy_network_each_forwarded_client_counts_on_its_own(
    replicas: list[DrawingService],
) -> None:
    # Two ingress pods of the trusted network, on both replicas: one client who also sends an
    # X-Forwarded-For of its own making (the proxy appends the address it was reached from, and that last
    # hop that is no proxy is who counts), then another client through the same proxies.
    proxies = [client(replicas[n], f"127.0.4.{7 + n}") for n in range(2)]
    spoofing = [
        attempt(
            proxies[n % 2],
            f"user-{secrets.token_hex(3)}",
            **{"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.50"},
        )
        for n in range(PER_ADDRESS + 1)
    ]
    assert spoofing == [401] * PER_ADDRESS + [429]
    assert attempt(proxies[0], "someone", **{"X-Forwarded-For": "203.0.113.51"}) == 401
    for http in proxies:
        http.close()


def test_a_trusted_proxy_that_is_neither_an_address_nor_a_network_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="trusted proxy 'ingress-nginx' is neither an address"):
        DrawingSettings(trusted_proxies="10.42.0.0/16, ingress-nginx")


def test_registrations_and_guest_tokens_are_limited_per_address(replicas: list[DrawingService]) -> None:
    with client(replicas[0]) as http:
        made = [
            http.post(
                "/api/v1/users",
                json={"username": f"r-{secrets.token_hex(4)}", "password": secrets.token_urlsafe(12)},
            ).status_code
            for _ in range(REGISTER + 1)
        ]
        assert made == [201] * REGISTER + [429]
        # A fresh guest identity each time (no cookie kept): what a script minting tokens does.
        joins = []
        for _ in range(GUESTS + 1):
            http.cookies.clear()
            joins.append(http.post("/api/v1/sessions/guests-here/join", json={"name": "Bot"}).status_code)
        assert joins == [200] * GUESTS + [429]


def test_one_address_starts_a_bounded_number_of_open_boards_an_hour_across_replicas(
    replicas: list[DrawingService],
) -> None:
    username, password = f"ob-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with client(replicas[0]) as http:
        assert (
            http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
        )
        token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]
    me = {"Authorization": f"Bearer {token}"}
    boards = [f"ob-{secrets.token_hex(4)}" for _ in range(OPEN_BOARDS + 1)]
    address = new_address()
    clients = [client(replicas[0], address), client(replicas[1], address)]

    def join(n: int, board: str) -> httpx.Response:
        return clients[n % 2].post(f"/api/v1/sessions/{board}/join", json={}, headers=me)

    assert [join(n, board).status_code for n, board in enumerate(boards[:OPEN_BOARDS])] == [200] * OPEN_BOARDS
    refused = join(OPEN_BOARDS, boards[OPEN_BOARDS])
    assert refused.status_code == 429
    assert refused.json()["limit"] == "open_boards_per_address_per_hour"
    assert refused.headers["Retry-After"].isdigit()
    # Coming back to a board it started is free; another address starts its own.
    assert join(1, boards[0]).status_code == 200
    with client(replicas[1]) as elsewhere:
        assert elsewhere.post(f"/api/v1/sessions/{boards[-1]}/join", json={}, headers=me).status_code == 200
    for http in clients:
        http.close()
