"""Fixtures that start real components on free loopback ports, one set per test.

A tier whose dependency is missing is skipped locally, but fails when DRAWNET_REQUIRE_ALL_TIERS=1
(set by .ci/run), so CI can never go green by skipping a tier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol.tokens import Role
from drawnet.testkit.client import RoomClient
from drawnet.testkit.postgres import PostgresServer, PostgresUnavailableError
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

REQUIRE_ALL_TIERS = os.environ.get("DRAWNET_REQUIRE_ALL_TIERS") == "1"

TEST_ROOM_IMAGE = "drawnet.local/room:test"
"""The room image the operator is given wherever a test does not name one (it has no default: Drawnet
publishes no image). KWOK never pulls it; the real-node tier's chart names the image it built."""
os.environ.setdefault("DRAWNET_OPERATOR_ROOM_IMAGE", TEST_ROOM_IMAGE)


def missing_dependency(reason: str) -> None:
    """Skip the test, or fail it when every tier is required (CI)."""
    if REQUIRE_ALL_TIERS:
        pytest.fail(f"required test dependency missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(data_dir=tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except PostgresUnavailableError as error:
        missing_dependency(str(error))
    server.start()
    yield server
    server.stop()


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'drawnet.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every test that touches SQL runs on both databases: SQLite (embedded) and PostgreSQL (production)."""
    return _database_url(request, tmp_path)


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`database_url` for a module's tests sharing one service: a new database for each module."""
    return _database_url(request, tmp_path_factory.mktemp("db"))


@pytest.fixture
def room_server(nats_server: NatsServer, tmp_path: Path) -> Iterator[RoomServer]:
    room = RoomServer(
        nats_url=nats_server.url,
        log_path=tmp_path / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
    ).start()
    yield room
    room.stop()


@pytest.fixture
def drawing_service(
    nats_server: NatsServer, room_server: RoomServer, database_url: str, tmp_path: Path
) -> Iterator[DrawingService]:
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=database_url,
        log_path=tmp_path / "drawing.log",
        room_public_url=room_server.url,
    ).start()
    yield service
    service.stop()


class Join(Protocol):
    async def __call__(
        self,
        room: RoomServer | str,
        session: str,
        *,
        name: str = "tester",
        role: Role = "editor",
        user: str | None = None,
        **options: Any,
    ) -> RoomClient: ...


@pytest.fixture
def join() -> Join:
    """Join a session as a browser does: with a join token for it (editor unless told otherwise)."""
    signer = Signer()

    async def join(
        room: RoomServer | str,
        session: str,
        *,
        name: str = "tester",
        role: Role = "editor",
        user: str | None = None,
        **options: Any,
    ) -> RoomClient:
        url = room if isinstance(room, str) else room.url
        token = signer.token(session, role=role, user=user, name=name)
        return await RoomClient.join(url, session, name=name, token=token, **options)

    return join
