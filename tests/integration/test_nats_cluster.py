"""NATS as a three-server cluster (the chart's HA shape) with three real nats-server processes: the op
log replicated three times, every component given every server, and the stream's leader killed while
people draw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client

from drawnet.embedded.components import DrawingService, RoomServer
from drawnet.protocol import OPS_STREAM
from drawnet.protocol.access import ACCESS_STREAM
from drawnet.testkit import RoomClient, eventually_async, holds
from drawnet.testkit.natscluster import NatsCluster, stream_leader
from drawnet.testkit.participant import (
    Participant,
    assert_late_joiner_sees_it_all,
    converged,
    each_draws,
    stored_ids,
)
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

pytestmark = pytest.mark.integration

signer = Signer()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def drawing(cluster: NatsCluster, tmp_path: Path) -> Iterator[DrawingService]:
    service = DrawingService(
        nats_url=cluster.url,
        database_url=f"sqlite:///{tmp_path / 'drawnet.db'}",
        log_path=tmp_path / "drawing.log",
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={"DRAWNET_DRAWING_OPS_STREAM_REPLICAS": "3"},
    ).start(timeout=60)
    yield service
    service.stop()


@pytest.fixture
def room(cluster: NatsCluster, drawing: DrawingService, tmp_path: Path) -> Iterator[RoomServer]:
    room = RoomServer(
        nats_url=cluster.url,
        log_path=tmp_path / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        drawing_url=drawing.url,
    ).start(timeout=60)
    yield room
    room.stop()


@pytest.fixture
async def monitor(cluster: NatsCluster) -> AsyncIterator[Client]:
    nc = await nats.connect(cluster.url.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    yield nc
    await nc.close()


async def test_the_op_log_is_declared_with_three_replicas_and_a_room_keeps_them(
    room: RoomServer, monitor: Client
) -> None:
    info = await monitor.jetstream().stream_info(OPS_STREAM)
    assert info.config.num_replicas == 3
    assert (await monitor.jetstream().stream_info(ACCESS_STREAM)).config.num_replicas == 3
    assert info.cluster is not None
    assert len(info.cluster.replicas or []) == 2  # the leader and two followers
    async with await RoomClient.join(room.url, "r3", token=signer.token("r3")) as ann:
        await ann.draw_stroke([(0.0, 0.0, 0.5), (1.0, 1.0, 0.5)])
    assert (await monitor.jetstream().stream_info(OPS_STREAM)).config.num_replicas == 3


async def test_killing_the_stream_leader_while_people_draw_loses_nothing_acknowledged(
    cluster: NatsCluster, drawing: DrawingService, room: RoomServer, monitor: Client
) -> None:
    people = [
        Participant([room.url], "quorum", name, lambda n=name: signer.token("quorum", name=n))  # type: ignore[misc]
        for name in ("Ann", "Bob")
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop)) for p in people]
    try:
        await each_draws(people, 5)
        leader = await stream_leader(monitor)
        cluster.by_name(leader).process.kill()  # type: ignore[union-attr]  # SIGKILL
        await each_draws(people, 5)  # acks resume (bench/nats_failover.py measures how soon)
        assert await stream_leader(monitor) != leader
        for person in people:
            person.drawing = False
        await eventually_async(
            holds(lambda: converged(people)), timeout=60, what="both boards hold every ack"
        )
    finally:
        stop.set()
        await asyncio.gather(*running)

    acked = {op_id for p in people for op_id in p.acked}
    async with await RoomClient.join(room.url, "quorum", token=signer.token("quorum", name="Cat")) as late:
        assert_late_joiner_sees_it_all(people, late)
    async with httpx.AsyncClient(base_url=drawing.url) as http:
        stored = await eventually_async(
            lambda: stored_ids(http, "quorum", len(acked)), timeout=60, what="every acked op in SQL"
        )
    assert stored is not None
    assert stored == acked
