"""The room's promises, each against real NATS (JetStream) and real room processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from drawnet.bus import connect, ensure_ops_stream
from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import Ack, AddStroke, CloseCode, Joined, Points
from drawnet.testkit import RoomClient, eventually_async, holds
from drawnet.testkit.client import line
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from tests.conftest import Join

pytestmark = pytest.mark.integration

signer = Signer()


def start_room(
    nats: NatsServer,
    log: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    drawing_url: str = "",
) -> RoomServer:
    room = RoomServer(
        nats_url=nats.url,
        log_path=log,
        signing_keys=TEST_SIGNING_KEYS,
        drawing_url=drawing_url,
        extra_env=env or {},
    )
    if port is not None:
        room.port = port
    return room.start()


async def keep_drawing(client: RoomClient, stop: asyncio.Event, interval: float = 0.005) -> None:
    """Commit strokes without waiting for acks, as a quick hand does, until told to stop or cut off."""
    with contextlib.suppress(websockets.ConnectionClosed, ConnectionError):
        while not stop.is_set():
            op_id = client.new_id()
            await client.send_op(
                AddStroke(
                    id=op_id,
                    tool="pen",
                    color="#000000",
                    width=2,
                    opacity=1,
                    pts=line(8, y0=len(client.acked)),
                )
            )
            await asyncio.sleep(interval)


async def settled(clients: list[RoomClient]) -> bool:
    """Every outbox is empty and every client is at the same sequence number."""
    return all(not c.pending for c in clients) and len({c.board.seq for c in clients}) == 1


class TestAcknowledgedMeansDurable:
    async def test_a_room_killed_mid_session_loses_no_acked_op_and_everyone_converges(
        self, nats_server: NatsServer, tmp_path: Path
    ) -> None:
        room = start_room(nats_server, tmp_path / "room-1.log")
        names = ["ann", "bob", "cat", "dan"]
        clients = [
            await RoomClient.join(room.url, "crash", name=n, token=signer.token("crash", name=n))
            for n in names
        ]
        stop = asyncio.Event()
        drawing = [asyncio.create_task(keep_drawing(c, stop)) for c in clients]
        await eventually_async(holds(lambda: all(len(c.acked) >= 5 for c in clients)), what="some acked ops")

        room.process.kill()  # type: ignore[union-attr]  # kill -9, mid-stroke
        stop.set()
        await asyncio.gather(*drawing)
        acked_before = {op_id for c in clients for op_id in c.acked}
        room = start_room(nats_server, tmp_path / "room-2.log", port=room.port)

        resumed = [
            await c.resume(room.url, "crash", token=signer.token("crash", name=n))
            for c, n in zip(clients, names, strict=True)
        ]
        await eventually_async(lambda: settled(resumed), what="outboxes flushed and boards at one seq")
        async with await RoomClient.join(room.url, "crash", token=signer.token("crash", name="eve")) as late:
            on_board = {stroke.id for stroke in late.board.strokes}
            assert acked_before <= on_board
            assert {op_id for c in resumed for op_id in c.acked} == on_board
            assert {c.board.state_hash() for c in resumed} == {late.board.state_hash()}
        for client in resumed:
            await client.close()
        room.stop()


class TestExactlyOnce:
    async def test_an_op_resent_by_another_connection_of_the_same_tab_is_acked_with_the_same_seq(
        self, room_server: RoomServer, join: Join
    ) -> None:
        op = AddStroke(id="tab-1-7", tool="pen", color="#000000", width=2, opacity=1, pts=line(3))
        async with await join(room_server, "resend", name="Ann") as first:
            ack = await first.submit(op)
        async with await join(room_server, "resend", name="Ann") as again:
            resent = await again.submit(op)
            assert isinstance(ack, Ack)
            assert resent == ack
            assert [s.id for s in again.board.strokes] == ["tab-1-7"]


class TestSameOrderEverywhere:
    async def test_concurrent_writers_end_with_identical_boards(
        self, room_server: RoomServer, join: Join
    ) -> None:
        clients = [await join(room_server, "order", name=n) for n in ("ann", "bob", "cat")]
        stop = asyncio.Event()
        drawing = [asyncio.create_task(keep_drawing(c, stop, interval=0.002)) for c in clients]
        await eventually_async(holds(lambda: all(len(c.acked) >= 20 for c in clients)), what="20 acks each")
        stop.set()
        await asyncio.gather(*drawing)
        await eventually_async(lambda: settled(clients), what="quiescence")

        orders = {tuple(s.id for s in c.board.strokes) for c in clients}
        assert len(orders) == 1
        async with await join(room_server, "order", name="late") as late:
            assert tuple(s.id for s in late.board.strokes) in orders
        for client in clients:
            await client.close()


class TestLateJoiners:
    async def test_a_restarted_room_loads_the_drawing_service_snapshot_and_replays_only_the_tail(
        self, nats_server: NatsServer, database_url: str, tmp_path: Path, join: Join
    ) -> None:
        drawing = DrawingService(
            nats_url=nats_server.url,
            database_url=database_url,
            log_path=tmp_path / "drawing.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={"DRAWNET_DRAWING_SNAPSHOT_EVERY_OPS": "10"},
        ).start()
        room = start_room(nats_server, tmp_path / "room-1.log", drawing_url=drawing.url)
        async with await join(room, "snap", name="Ann") as ann:
            for i in range(13):
                await ann.send_op(
                    AddStroke(id=f"s{i}", tool="pen", color="#000000", width=1, opacity=1, pts=line(4))
                )
            await eventually_async(holds(lambda: not ann.pending), what="13 acks")
        async with httpx.AsyncClient(base_url=drawing.url) as http:
            await eventually_async(
                lambda: _snapshot_covers(http, "snap", 10), what="a snapshot of at least 10 strokes"
            )
        room.stop()

        room = start_room(nats_server, tmp_path / "room-2.log", port=room.port, drawing_url=drawing.url)
        async with await join(room, "snap", name="Bob") as bob:
            assert [s.id for s in bob.board.strokes] == [f"s{i}" for i in range(13)]
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{room.http_url}/metrics")).text
        assert 'drawnet_room_board_loads_total{source="snapshot"} 1.0' in metrics
        replayed = next(
            line for line in metrics.splitlines() if line.startswith("drawnet_room_replayed_ops_total")
        )
        assert float(replayed.split()[1]) <= 3  # only the tail after the snapshot, not all 13
        room.stop()
        drawing.stop()


class TestReadyMeansReady:
    async def test_a_room_for_one_session_is_ready_only_with_its_board_loaded(
        self, nats_server: NatsServer, tmp_path: Path, join: Join, room_server: RoomServer
    ) -> None:
        async with await join(room_server, "preload", name="Ann") as ann:
            for i in range(30):
                await ann.send_op(
                    AddStroke(id=f"s{i}", tool="pen", color="#000000", width=1, opacity=1, pts=line(50))
                )
            await eventually_async(holds(lambda: not ann.pending), what="30 acks")
        room = RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / "dedicated.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={"DRAWNET_ROOM_SESSION": "preload"},
        ).start()  # returns once /readyz answers 200
        async with await join(room, "preload", name="Bob") as bob:
            assert len(bob.board) == 30
        other = await RoomClient.connect_raw(room.url, "another")
        assert (await other.wait_closed())[0] == CloseCode.INVALID_SESSION
        room.stop()

    async def test_readiness_follows_nats(self, tmp_path: Path) -> None:
        nats = NatsServer(data_dir=tmp_path / "nats").start()
        room = start_room(nats, tmp_path / "room.log")
        async with httpx.AsyncClient(base_url=room.http_url) as http:
            nats.stop()
            await eventually_async(lambda: _status(http, 503), what="not ready without NATS")
            nats.start()
            await eventually_async(lambda: _status(http, 200), timeout=20, what="ready again with NATS")
        room.stop()
        nats.stop()

    async def test_a_room_is_alive_at_once_and_ready_only_once_nats_and_the_op_log_are_there(
        self, tmp_path: Path
    ) -> None:
        """A fresh install starts the room pod before NATS, and before the drawing service declared the op
        log: the liveness probe (/healthz) must find it alive meanwhile, the readiness probe (/readyz) must
        not find it ready, and it must get there by itself."""
        nats = NatsServer(data_dir=tmp_path / "nats")  # its port chosen, not started yet
        room = RoomServer(
            nats_url=nats.url,
            log_path=tmp_path / "room.log",
            signing_keys=TEST_SIGNING_KEYS,
            drawing_url="http://127.0.0.1:9",  # a drawing service declares the log; nobody does here yet
            extra_env={"DRAWNET_ROOM_SESSION": "fresh", "DRAWNET_ROOM_NATS_RETRY_SECONDS": "0.2"},
        ).start(ready=False)  # returns once /healthz answers
        try:
            async with httpx.AsyncClient(base_url=room.http_url) as http:
                assert (await http.get("/healthz")).status_code == 200
                waiting = await http.get("/readyz")
                assert (waiting.status_code, waiting.text) == (
                    503,
                    f"not ready: connecting to NATS at {nats.url}",
                )
                early = await RoomClient.connect_raw(room.url, "fresh")
                assert await early.wait_closed() == (CloseCode.TRY_AGAIN_LATER, "room is starting; retry")

                nats.start()
                await eventually_async(
                    lambda: _says(
                        http, "not ready: waiting for the drawing service to declare the DRAWNET_OPS"
                    ),
                    what="the room connected, waiting for the op log",
                )
                assert (await http.get("/healthz")).status_code == 200
                nc = await connect(nats.url, "test")
                try:
                    await ensure_ops_stream(nc.jetstream(), duplicate_window_seconds=600)
                finally:
                    await nc.close()
                await eventually_async(lambda: _status(http, 200), what="ready once the op log exists")
            async with await RoomClient.join(
                room.url, "fresh", token=signer.token("fresh", name="Ann")
            ) as ann:
                await ann.draw_stroke(line(3))
                await eventually_async(holds(lambda: len(ann.acked) == 1), what="the stroke acked")
        finally:
            room.stop()
            nats.stop()

    async def test_a_room_stopped_while_it_waits_for_nats_exits_at_once(self, tmp_path: Path) -> None:
        nats = NatsServer(data_dir=tmp_path / "nats")
        room = RoomServer(nats_url=nats.url, log_path=tmp_path / "room.log", signing_keys=TEST_SIGNING_KEYS)
        room.start(ready=False)
        assert room.stop(timeout=5) == 0


class TestPaths:
    async def test_a_room_answers_on_its_namespaced_path_and_refuses_another_namespace(
        self, room_server: RoomServer
    ) -> None:
        """The operator's routes give browsers `/rooms/<namespace>/<session>` (one public host serves every
        namespace); the room serves that path for its own namespace and refuses the others'."""
        token = signer.token("paths", name="Ann")
        async with await RoomClient.join(room_server.url, "default/paths", token=token) as ann:
            await ann.draw_stroke(line(3))
            await eventually_async(holds(lambda: len(ann.acked) == 1), what="the stroke acked")
        other = await RoomClient.connect_raw(room_server.url, "team-b/paths")
        assert await other.wait_closed() == (
            CloseCode.INVALID_SESSION,
            "this room hosts namespace 'default', not 'team-b'",
        )


class TestPings:
    async def test_a_quiet_connection_is_pinged_every_ping_interval(
        self, nats_server: NatsServer, tmp_path: Path
    ) -> None:
        """What a proxy between browser and room sees on a quiet board: a ping from the room every
        `ping_interval_seconds`, so its idle timeout (ingress-nginx: 60 s) never closes the connection."""
        room = start_room(
            nats_server, tmp_path / "room.log", env={"DRAWNET_ROOM_PING_INTERVAL_SECONDS": "0.5"}
        )
        try:
            reader, writer = await asyncio.open_connection(room.host, room.port)
            writer.write(
                b"GET /rooms/quiet HTTP/1.1\r\nHost: room\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            started = asyncio.get_running_loop().time()
            opcodes: list[int] = []
            while len(opcodes) < 3:
                first, length = await asyncio.wait_for(reader.readexactly(2), timeout=5)
                await reader.readexactly(length & 0x7F)
                opcodes.append(first & 0x0F)
            elapsed = asyncio.get_running_loop().time() - started
            assert opcodes == [0x9, 0x9, 0x9]  # three pings, nothing else on a quiet connection
            assert 1.0 <= elapsed < 3.0, elapsed
            writer.close()
        finally:
            room.stop()


class TestReplicas:
    @pytest.fixture
    def replicas(self, nats_server: NatsServer, tmp_path: Path) -> Iterator[tuple[RoomServer, RoomServer]]:
        env = {"DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS": "true"}
        a = start_room(nats_server, tmp_path / "a.log", env={**env, "DRAWNET_ROOM_REPLICA_ID": "a"})
        b = start_room(nats_server, tmp_path / "b.log", env={**env, "DRAWNET_ROOM_REPLICA_ID": "b"})
        yield a, b
        a.stop()
        b.stop()

    async def test_two_replicas_of_a_session_relay_live_traffic_presence_and_one_op_order(
        self, replicas: tuple[RoomServer, RoomServer], join: Join
    ) -> None:
        a, b = replicas
        ann = await join(a, "shared", name="Ann")
        bob = await join(b, "shared", name="Bob")
        joined = await ann.wait_for(lambda m: m if isinstance(m, Joined) else None)
        assert joined.who.name == "Bob"

        stop = asyncio.Event()
        drawing = [asyncio.create_task(keep_drawing(c, stop, interval=0.003)) for c in (ann, bob)]
        await eventually_async(
            holds(lambda: len(ann.acked) >= 10 and len(bob.acked) >= 10), what="acks on both"
        )
        stop.set()
        await asyncio.gather(*drawing)
        await eventually_async(lambda: settled([ann, bob]), what="both replicas' clients at one seq")

        assert [s.id for s in ann.board.strokes] == [s.id for s in bob.board.strokes]
        await bob.draw_stroke(line(5))
        live = await ann.wait_for(lambda m: m if isinstance(m, Points) and m.by == bob.me else None)
        assert live.pts[0] == (0.0, 0.0, 0.5)
        await ann.close()
        await bob.close()


class TestDrain:
    async def test_sigterm_acknowledges_what_is_in_flight_then_sends_everyone_away(
        self, nats_server: NatsServer, tmp_path: Path
    ) -> None:
        room = start_room(nats_server, tmp_path / "room.log")
        clients = [
            await RoomClient.join(room.url, "drain", token=signer.token("drain", name=n)) for n in ("a", "b")
        ]
        stop = asyncio.Event()
        drawing = [asyncio.create_task(keep_drawing(c, stop)) for c in clients]
        await eventually_async(holds(lambda: all(len(c.acked) >= 3 for c in clients)), what="acks")

        assert room.process is not None
        assert room.stop(timeout=15) == 0  # SIGTERM; the process exits by itself within its grace period
        stop.set()
        await asyncio.gather(*drawing)
        assert {await c.wait_closed() for c in clients} == {
            (CloseCode.GOING_AWAY, "room is shutting down; reconnect")
        }

        room = start_room(nats_server, tmp_path / "room-2.log", port=room.port)
        resumed = [
            await c.resume(room.url, "drain", token=signer.token("drain", name=n))
            for c, n in zip(clients, "ab", strict=True)
        ]
        await eventually_async(lambda: settled(resumed), what="resent outboxes acked")
        acked = {op_id for c in resumed for op_id in c.acked}
        assert acked == {s.id for s in resumed[0].board.strokes}
        for client in resumed:
            await client.close()
        room.stop()


async def _snapshot_covers(http: httpx.AsyncClient, session: str, strokes: int) -> bool:
    response = await http.get(f"/api/v1/sessions/{session}/snapshot")
    return response.status_code == 200 and len(response.json()["strokes"]) >= strokes


async def _says(http: httpx.AsyncClient, prefix: str) -> bool:
    try:
        response = await http.get("/readyz")
    except httpx.HTTPError:
        return False
    return response.status_code == 503 and response.text.startswith(prefix)


async def _status(http: httpx.AsyncClient, expected: int) -> bool:
    try:
        return (await http.get("/readyz")).status_code == expected
    except httpx.HTTPError:
        return False
