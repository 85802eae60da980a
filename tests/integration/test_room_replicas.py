"""A big session across several room replicas (what `spec.room.replicas` runs): three real room processes
for one session with the relay between replicas on, participants spread over them as the session's route
spreads them. They see each other's live strokes and cursors and converge on one board; a replica
SIGKILLed, its participants reconnect to the others and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drawnet.embedded.components import NatsServer, RoomServer
from drawnet.protocol import Ack, Cursor, Points, encode
from drawnet.testkit import RoomClient, eventually_async, holds
from drawnet.testkit.client import line
from drawnet.testkit.participant import Participant, converged, each_draws
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

pytestmark = pytest.mark.integration

SESSION = "big"
signer = Signer()


@pytest.fixture
def replicas(nats_server: NatsServer, tmp_path: Path) -> Iterator[list[RoomServer]]:
    rooms = [
        RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / f"room-{i}.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={
                "DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS": "true",
                "DRAWNET_ROOM_REPLICA_ID": f"r{i}",
                "DRAWNET_ROOM_SESSION": SESSION,  # as the operator runs them: one session per room pod
            },
        ).start(timeout=60)
        for i in range(3)
    ]
    yield rooms
    for room in rooms:
        room.stop()


def _token(name: str) -> Callable[[], str]:
    return lambda: signer.token(SESSION, name=name)


def _spread(rooms: list[RoomServer], first: int) -> list[str]:
    """The replicas in the order a participant tries them: its own first (where the route sent it)."""
    urls = [room.url for room in rooms]
    return urls[first:] + urls[:first]


async def test_participants_on_different_replicas_see_each_others_live_strokes_and_cursors(
    replicas: list[RoomServer],
) -> None:
    clients = [
        await RoomClient.join(room.url, SESSION, name=f"p{i}", token=signer.token(SESSION, name=f"p{i}"))
        for i, room in enumerate(replicas)
    ]
    try:
        author, *others = clients
        await author.send(encode(Cursor(x=12.5, y=7.0)))
        for other in others:
            cursor = await other.wait_for(
                lambda m: m if isinstance(m, Cursor) and m.by == author.me else None
            )
            assert (cursor.x, cursor.y) == (12.5, 7.0)
        ack = await author.draw_stroke(line(40))
        assert isinstance(ack, Ack)
        for other in others:
            live = await other.wait_for(lambda m: m if isinstance(m, Points) and m.by == author.me else None)
            assert live.pts[0] == (0.0, 0.0, 0.5)
            await eventually_async(functools.partial(_at_least, other, ack.seq), what="the stroke committed")
        assert len({c.board.state_hash() for c in clients}) == 1
    finally:
        for client in clients:
            await client.close()


async def test_a_replica_killed_its_participants_reconnect_to_the_others_and_nothing_acked_is_lost(
    replicas: list[RoomServer],
) -> None:
    people = [
        Participant(_spread(replicas, i % 3), SESSION, f"p{i}", _token(f"p{i}"), interval=0.05)
        for i in range(6)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop)) for p in people]
    try:
        await each_draws(people, 5)
        assert {p.room for p in people} == {room.url for room in replicas}  # spread over all three
        victim = replicas[1]
        moved = [p for p in people if p.room == victim.url]
        assert victim.process is not None
        victim.process.kill()  # SIGKILL
        await each_draws(people, 5)
        assert all(p.room != victim.url and p.reconnects >= 1 for p in moved)
        for person in people:
            person.drawing = False
        await eventually_async(holds(lambda: converged(people)), timeout=60, what="every ack on every board")
    finally:
        stop.set()
        await asyncio.gather(*running)
    acked = {op_id for p in people for op_id in p.acked}
    async with await RoomClient.join(
        replicas[2].url, SESSION, token=signer.token(SESSION, name="late")
    ) as late:
        assert acked <= {stroke.id for stroke in late.board.strokes}


async def _at_least(client: RoomClient, seq: int) -> bool:
    return client.board.seq >= seq
