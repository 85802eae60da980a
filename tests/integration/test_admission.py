"""Who a room lets in, beyond a valid token: a session's own participant limit (which its tokens carry)
in every mode, its owner always, and caps on the connections of one user and of one client address,
so that one guest cannot fill a board or hold the room's sockets. A real room over a real nats-server."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Awaitable, Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import NatsServer, RoomServer
from drawnet.protocol import CloseCode
from drawnet.testkit.client import RoomClient
from drawnet.testkit.metrics import metric
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from drawnet.testkit.waiting import eventually_async

pytestmark = pytest.mark.integration

PER_USER = 3
PER_ADDRESS = 5
PROXIES = "127.0.3.0/24"
"""The ingress controller's network: from there, X-Forwarded-For names the client."""


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoomServer]:
    folder: Path = tmp_path_factory.mktemp("admission")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    server = RoomServer(
        nats_url=nats_server.url,
        log_path=folder / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={
            "DRAWNET_ROOM_MAX_CONNECTIONS_PER_USER": str(PER_USER),
            "DRAWNET_ROOM_MAX_PENDING_PER_ADDRESS": str(PER_ADDRESS),
            "DRAWNET_ROOM_TRUSTED_PROXIES": PROXIES,
        },
    ).start(timeout=90)
    yield server
    server.stop()
    nats_server.stop()


def from_address(room: RoomServer, address: str) -> socket.socket:
    return socket.create_connection((room.host, room.port), source_address=(address, 0))


def new_session() -> str:
    return f"adm-{secrets.token_hex(4)}"


async def test_one_user_holds_at_most_max_connections_per_user(room: RoomServer) -> None:
    session, signer = new_session(), Signer()
    token = signer.token(session, user="guest:flooder")
    held = [await RoomClient.join(room.url, session, token=token) for _ in range(PER_USER)]
    with pytest.raises(ConnectionError, match=f"4005.*max_connections_per_user {PER_USER}"):
        await RoomClient.join(room.url, session, token=token)
    other = await RoomClient.join(room.url, session, token=signer.token(session, user="someone-else"))
    for client in [*held, other]:
        await client.close()


async def test_a_session_s_own_limit_holds_and_its_owner_still_gets_in(room: RoomServer) -> None:
    session, signer = new_session(), Signer()
    limit = 2
    people = [
        await RoomClient.join(
            room.url, session, token=signer.token(session, user=f"u{n}", max_participants=limit)
        )
        for n in range(limit)
    ]
    with pytest.raises(ConnectionError, match=f"4009.*max_participants {limit}"):
        await RoomClient.join(
            room.url, session, token=signer.token(session, user="late", max_participants=limit)
        )
    owner = await RoomClient.join(
        room.url, session, token=signer.token(session, user="owner", role="owner", max_participants=limit)
    )
    for client in [*people, owner]:
        await client.close()


async def test_one_address_holds_at_most_max_pending_per_address_unjoined_whatever_it_forwards(
    room: RoomServer,
) -> None:
    session = new_session()
    # Not a trusted proxy: what it says in X-Forwarded-For does not make it someone else.
    held = [
        await RoomClient.connect_raw(
            room.url,
            session,
            sock=from_address(room, "127.0.0.77"),
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
        for n in range(PER_ADDRESS)
    ]
    extra = await RoomClient.connect_raw(
        room.url, session, sock=from_address(room, "127.0.0.77"), headers={"X-Forwarded-For": "203.0.113.99"}
    )
    code, reason = await extra.wait_closed(timeout=5)
    assert code == CloseCode.LIMIT_EXCEEDED
    assert f"max_pending_per_address {PER_ADDRESS}" in reason
    elsewhere = await RoomClient.join(
        room.url,
        session,
        token=Signer().token(session, user="elsewhere"),
        sock=from_address(room, "127.0.0.78"),
    )
    for client in [*held, elsewhere]:
        await client.close()
    # Joined and closed connections no longer count: people behind one proxy all get in.
    joined = [
        await RoomClient.join(
            room.url,
            session,
            token=Signer().token(session, user=f"nat-{n}"),
            sock=from_address(room, "127.0.0.79"),
        )
        for n in range(PER_ADDRESS + 1)
    ]
    for client in joined:
        await client.close()
    again = await RoomClient.join(
        room.url, session, token=Signer().token(session, user="back"), sock=from_address(room, "127.0.0.77")
    )
    await again.close()


async def test_behind_a_trusted_proxy_network_each_forwarded_client_counts_on_its_own(
    room: RoomServer,
) -> None:
    session = new_session()
    # Two proxies of the trusted network (two ingress controller pods) forward one client, who also
    # sends an X-Forwarded-For of its own making: the proxy appends the address it was reached from,
    # and that last hop that is no proxy is who counts.
    held = [
        await RoomClient.connect_raw(
            room.url,
            session,
            sock=from_address(room, f"127.0.3.{7 + n % 2}"),
            headers={"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.50"},
        )
        for n in range(PER_ADDRESS)
    ]
    extra = await RoomClient.connect_raw(
        room.url, session, sock=from_address(room, "127.0.3.7"), headers={"X-Forwarded-For": "203.0.113.50"}
    )
    code, reason = await extra.wait_closed(timeout=5)
    assert code == CloseCode.LIMIT_EXCEEDED
    assert f"max_pending_per_address {PER_ADDRESS}" in reason
    # Another client through the same proxy is someone else: the proxy's own address is not counted.
    other = await RoomClient.join(
        room.url,
        session,
        token=Signer().token(session, user="behind-the-ingress"),
        sock=from_address(room, "127.0.3.7"),
        headers={"X-Forwarded-For": "203.0.113.51"},
    )
    for client in [*held, other]:
        await client.close()


async def test_an_embedded_room_unloads_a_session_nobody_is_in_after_its_own_idle_timeout(
    tmp_path: Path,
) -> None:
    """The session's idle timeout (its tokens carry it) in a room hosting any session: nobody in it and
    nothing drawn that long, and its board, consumer and memory go (sooner than session_linger_seconds,
    300 s); a later join loads it again."""
    nats_server = NatsServer(data_dir=tmp_path / "nats").start()
    room = RoomServer(
        nats_url=nats_server.url, log_path=tmp_path / "room.log", signing_keys=TEST_SIGNING_KEYS
    ).start(timeout=90)
    try:
        signer = Signer()
        quick, lasting = new_session(), new_session()

        async def loaded() -> float:
            async with httpx.AsyncClient(timeout=10) as http:
                return metric((await http.get(f"{room.http_url}/metrics")).text, "drawnet_room_sessions")

        for session, idle in ((quick, 1), (lasting, 0)):
            token = signer.token(session, user=f"idle-{idle}", idle=idle)
            client = await RoomClient.join(room.url, session, token=token)
            await client.close()
        assert await eventually_async(lambda: _equals(loaded(), 1.0), timeout=15, what="one session loaded")
        again = await RoomClient.join(room.url, quick, token=signer.token(quick, user="back", idle=1))
        assert await loaded() == 2.0
        await again.close()
    finally:
        room.stop()
        nats_server.stop()


async def _equals(value: Awaitable[float], expected: float) -> bool:
    return await value == expected
