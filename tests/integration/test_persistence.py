"""The drawing service as the system of record: every op from the op log stored exactly once, snapshots kept
current, nothing lost while the database is down, and the schema made by migrations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from drawnet.drawing import db, snapshots
from drawnet.drawing.models import OpRow, SnapshotChunkRow, SnapshotRow
from drawnet.drawing.settings import normalize_database_url
from drawnet.embedded.components import DrawingService, NatsServer, RoomServer, free_port
from drawnet.embedded.processes import Supervised
from drawnet.protocol import OPS_STREAM, AddStroke, Erase, Op, encode
from drawnet.testkit import eventually_async
from drawnet.testkit.client import line
from drawnet.testkit.metrics import metric
from drawnet.testkit.oplog import log_ops
from drawnet.testkit.postgres import PostgresServer, PostgresUnavailableError
from drawnet.testkit.tokens import TEST_SIGNING_KEYS
from tests.conftest import missing_dependency

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""

FAST = {
    "DRAWNET_DRAWING_PERSIST_RETRY_SECONDS": "0.2",
    "DRAWNET_DRAWING_PERSIST_FETCH_TIMEOUT_SECONDS": "0.2",
    "DRAWNET_DRAWING_PERSIST_BATCH_SIZE": "50",
}


def stroke(i: int, *, prefix: str = "s") -> AddStroke:
    return AddStroke(id=f"{prefix}{i}", tool="pen", color="#1e1e1e", width=3, opacity=1, pts=line(4, y0=i))


async def stored_ops(http: httpx.AsyncClient, session: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/sessions/{session}/ops", params={"limit": 10_000})
    response.raise_for_status()
    ops: list[dict[str, Any]] = response.json()
    return ops


async def all_stored(http: httpx.AsyncClient, session: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]]:
        ops = await stored_ops(http, session)
        return ops if len(ops) >= count else []

    return await eventually_async(enough, timeout=30, what=f"{count} ops of {session} in SQL")


async def lose_snapshots(database_url: str) -> None:
    """What a crash of PostgreSQL does to the unlogged snapshot tables."""
    engine = db.make_engine(normalize_database_url(database_url))
    async with engine.begin() as conn:
        await conn.execute(SnapshotChunkRow.__table__.delete())  # type: ignore[attr-defined]
        await conn.execute(SnapshotRow.__table__.delete())  # type: ignore[attr-defined]
    await engine.dispose()


def started_service(nats_url: str, database_url: str, folder: Path) -> DrawingService:
    """A drawing service whose persister retries and polls fast (`FAST`), logging into `folder`."""
    return DrawingService(
        nats_url=nats_url, database_url=database_url, log_path=folder / "drawing.log", extra_env=FAST
    ).start(timeout=START_TIMEOUT)


@pytest.fixture
def service(nats_server: NatsServer, database_url: str, tmp_path: Path) -> Iterator[DrawingService]:
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=database_url,
        log_path=tmp_path / "drawing.log",
        extra_env={
            **FAST,
            "DRAWNET_DRAWING_SNAPSHOT_EVERY_OPS": "5",
            "DRAWNET_DRAWING_SNAPSHOT_EVERY_SECONDS": "600",
        },
    ).start(timeout=START_TIMEOUT)
    yield service
    service.stop()


@pytest.fixture
async def http(service: DrawingService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
        yield client


class TestExactlyOnce:
    async def test_every_logged_op_is_stored_once_in_log_order(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(nats_server.url, "once", [stroke(i) for i in range(120)])

        ops = await all_stored(http, "once", 120)

        assert [op["seq"] for op in ops] == seqs
        assert [op["op"]["id"] for op in ops] == [f"s{i}" for i in range(120)]

    async def test_a_replayed_op_log_adds_nothing(
        self, service: DrawingService, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        await log_ops(nats_server.url, "replay", [stroke(i) for i in range(30)])
        before = await all_stored(http, "replay", 30)
        service.stop()
        # Forget what the consumer acknowledged: on restart every op is delivered again.
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().delete_consumer(OPS_STREAM, "drawing-persister")
        await nc.close()

        service.start(timeout=START_TIMEOUT)
        await log_ops(nats_server.url, "replay", [stroke(30)])
        after = await all_stored(http, "replay", 31)

        assert after[:30] == before
        assert len(after) == 31

    async def test_the_same_op_id_logged_twice_is_stored_once(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        # Past JetStream's duplicate window a resend gets a new seq: SQL still keeps the first one only.
        first = await log_ops(nats_server.url, "twice", [stroke(1)])
        again = await log_ops(nats_server.url, "twice", [stroke(1), stroke(2)], msg_id_suffix="-late")

        ops = await all_stored(http, "twice", 2)

        assert [(op["seq"], op["op"]["id"]) for op in ops] == [(first[0], "s1"), (again[1], "s2")]

    async def test_a_consumer_deleted_under_the_running_persister_is_made_again_and_loses_nothing(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        first = await log_ops(nats_server.url, "gone", [stroke(i) for i in range(5)])
        await all_stored(http, "gone", 5)
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().delete_consumer(OPS_STREAM, "drawing-persister")
        finally:
            await nc.close()

        after = await log_ops(nats_server.url, "gone", [stroke(i) for i in range(5, 10)])
        ops = await all_stored(http, "gone", 10)

        assert [op["seq"] for op in ops] == first + after

    async def test_an_op_delivered_but_never_received_is_not_acknowledged_by_the_ops_after_it(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        """A delivery can be lost on its way (a dropped connection, a pull request of a run before): the
        consumer counts it as delivered all the same, and with AckPolicy.ALL the ack of any later op would
        acknowledge it unstored. Here another client takes one delivery and never acknowledges it."""
        seqs = await log_ops(nats_server.url, "gap", [stroke(0)])
        await all_stored(http, "gap", 1)
        thief = await nats.connect(nats_server.url)
        try:
            stolen: asyncio.Queue[Msg] = asyncio.Queue()
            inbox = thief.new_inbox()
            await thief.subscribe(inbox, cb=stolen.put)
            request = json.dumps({"batch": 1, "expires": 120 * 10**9}).encode()
            await thief.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{OPS_STREAM}.drawing-persister", request, reply=inbox
            )
            await thief.flush()
            # The server hands ops to the waiting pull requests in turn: the thief's gets one of the first.
            for i in range(1, 50):
                seqs += await log_ops(nats_server.url, "gap", [stroke(i)])
                if not stolen.empty():
                    break
            assert not stolen.empty(), "the other client never got a delivery"
            seqs += await log_ops(nats_server.url, "gap", [stroke(i) for i in range(50, 60)])

            ops = await all_stored(http, "gap", len(seqs))

            assert [op["seq"] for op in ops] == seqs
            assert (await stolen.get()).metadata.sequence.stream in seqs
            restarts = metric((await http.get("/metrics")).text, "drawnet_drawing_persister_restarts_total")
            assert restarts >= 1  # it consumed again from the ack floor
        finally:
            await thief.close()


class TestSnapshots:
    async def test_a_snapshot_is_written_every_n_ops_so_the_tail_stays_short(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(nats_server.url, "snap", [stroke(i) for i in range(12)])
        await all_stored(http, "snap", 12)

        # Wherever the persister's batches happened to end, the snapshot is rewritten once 5 ops are past it:
        # after the last batch it is at most 4 ops behind the last op.
        async def snapshot_caught_up() -> httpx.Response | None:
            response = await http.get("/api/v1/sessions/snap/snapshot")
            return response if int(response.headers["x-drawnet-snapshot-seq"]) >= seqs[-5] else None

        response = await eventually_async(snapshot_caught_up, what="a snapshot at most 4 ops behind")
        assert response is not None
        body = response.json()
        assert body["seq"] == seqs[-1]
        assert [entry["stroke"]["id"] for entry in body["strokes"]] == [f"s{i}" for i in range(12)]
        assert int(response.headers["x-drawnet-tail-ops"]) < 5
        assert body["recent"]["s11"] == seqs[-1]

    async def test_a_lost_snapshot_is_written_again_by_the_first_reader(
        self, nats_server: NatsServer, http: httpx.AsyncClient, database_url: str
    ) -> None:
        seqs = await log_ops(nats_server.url, "lost", [stroke(i) for i in range(12)])
        await all_stored(http, "lost", 12)
        await lose_snapshots(database_url)

        first = await http.get("/api/v1/sessions/lost/snapshot")
        again = await http.get("/api/v1/sessions/lost/snapshot")

        assert (first.headers["x-drawnet-snapshot-seq"], first.headers["x-drawnet-tail-ops"]) == ("0", "12")
        assert (again.headers["x-drawnet-snapshot-seq"], again.headers["x-drawnet-tail-ops"]) == (
            str(seqs[-1]),
            "0",
        )
        assert again.json()["strokes"] == first.json()["strokes"]

    async def test_the_persister_writes_a_lost_snapshot_whole_again(
        self, nats_server: NatsServer, http: httpx.AsyncClient, database_url: str
    ) -> None:
        seqs = await log_ops(nats_server.url, "rewrite", [stroke(i) for i in range(6)])
        await all_stored(http, "rewrite", 6)
        await lose_snapshots(database_url)
        # The persister's board in memory still knows the chunks of the snapshot it wrote last: its next
        # snapshot changes only some of them, which the database no longer holds.
        ops: list[Op] = [Erase(id="e1", strokes=["s2"]), *(stroke(i) for i in range(6, 11))]
        seqs = await log_ops(nats_server.url, "rewrite", ops)

        # Watched in SQL, not through the API: a reader finding no snapshot would write one itself.
        engine = db.make_engine(normalize_database_url(database_url))
        try:

            async def rewritten() -> bool:
                stored = await snapshots.read(engine, "default", "rewrite")
                return stored is not None and stored.seq == seqs[-1]

            await eventually_async(rewritten, what="the persister's snapshot written again, whole")
        finally:
            await engine.dispose()

        response = await http.get("/api/v1/sessions/rewrite/snapshot")
        assert response.headers["x-drawnet-tail-ops"] == "0"
        board = (await http.get("/api/v1/sessions/rewrite/board")).json()
        expected = [f"s{i}" for i in range(11) if i != 2]
        assert [s["id"] for s in board["strokes"]] == expected
        assert [e["stroke"]["id"] for e in response.json()["strokes"] if not e.get("removed_by")] == expected

    async def test_the_snapshot_holds_erasures(
        self, nats_server: NatsServer, http: httpx.AsyncClient
    ) -> None:
        ops: list[Op] = [stroke(i) for i in range(5)]
        ops.append(Erase(id="e1", strokes=["s1", "s3"]))
        await log_ops(nats_server.url, "erased", ops)
        await all_stored(http, "erased", 6)

        board = (await http.get("/api/v1/sessions/erased/board")).json()

        assert [s["id"] for s in board["strokes"]] == ["s0", "s2", "s4"]


async def test_a_snapshot_falls_due_after_t_seconds_without_new_ops(
    nats_server: NatsServer, database_url: str, tmp_path: Path
) -> None:
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=database_url,
        log_path=tmp_path / "drawing.log",
        extra_env={
            **FAST,
            "DRAWNET_DRAWING_SNAPSHOT_EVERY_OPS": "1000",
            "DRAWNET_DRAWING_SNAPSHOT_EVERY_SECONDS": "0.5",
        },
    ).start(timeout=START_TIMEOUT)
    try:
        seqs = await log_ops(nats_server.url, "timed", [stroke(i) for i in range(3)])
        async with httpx.AsyncClient(base_url=service.url) as http:

            async def snapshot_seq() -> int:
                response = await http.get("/api/v1/sessions/timed/snapshot")
                return int(response.headers["x-drawnet-snapshot-seq"]) == seqs[-1]

            await eventually_async(snapshot_seq, what="the timed snapshot")
    finally:
        service.stop()


async def test_every_op_is_stored_once_across_a_crash_of_nats(database_url: str, tmp_path: Path) -> None:
    """nats-server is killed while the persister works through a backlog (deliveries in flight are lost
    with the connection, the consumer may come back with an older state) and started again: every op is
    stored, once, in log order."""
    nats_server = NatsServer(data_dir=tmp_path / "nats").start()
    service = started_service(nats_server.url, database_url, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            before = await log_ops(nats_server.url, "bounce", [stroke(i) for i in range(2000)])

            async def storing() -> bool:
                return len(await stored_ops(http, "bounce")) > 0

            await eventually_async(storing, what="the persister at work on the backlog")
            assert nats_server.process is not None
            nats_server.process.kill()
            nats_server.start()
            after = await log_ops(nats_server.url, "bounce", [stroke(i) for i in range(2000, 2100)])

            ops = await all_stored(http, "bounce", 2100)

            assert [op["seq"] for op in ops] == before + after
    finally:
        service.stop()
        nats_server.stop()


async def test_an_op_log_nats_lost_is_made_again_numbered_on_from_what_sql_holds(
    database_url: str, tmp_path: Path
) -> None:
    """NATS loses its storage: SQL keys ops by seq, so a log that began again at 1 would collide with the
    stored ops. The drawing service declares it numbered on, at start-up and while it runs."""
    old_nats = NatsServer(data_dir=tmp_path / "nats-old").start()
    service = started_service(old_nats.url, database_url, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            first = await log_ops(old_nats.url, "renewed", [stroke(i) for i in range(3)])
            await all_stored(http, "renewed", 3)
    finally:
        service.stop()
        old_nats.stop()

    nats_server = NatsServer(data_dir=tmp_path / "nats-new").start()  # nothing of the old log
    service = started_service(nats_server.url, database_url, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            after_restart = await log_ops(nats_server.url, "renewed", [stroke(3)])
            assert after_restart == [first[-1] + 1]
            await all_stored(http, "renewed", 4)

            # Lost while the service runs: its persister finds its consumer gone, then the log.
            nc = await nats.connect(nats_server.url)
            try:
                js = nc.jetstream()
                await js.delete_stream(OPS_STREAM)

                async def declared_again() -> int:
                    return (await js.stream_info(OPS_STREAM)).state.first_seq

                assert await eventually_async(declared_again, what="the op log made again") == first[-1] + 2
            finally:
                await nc.close()
            later = await log_ops(nats_server.url, "renewed", [stroke(4)])
            ops = await all_stored(http, "renewed", 5)

            assert [op["seq"] for op in ops] == [*first, *after_restart, *later]
    finally:
        service.stop()
        nats_server.stop()


async def test_a_room_with_a_drawing_service_leaves_declaring_the_op_log_to_it(
    nats_server: NatsServer, database_url: str, tmp_path: Path
) -> None:
    """On an empty NATS, a room that declared the log would number it from 1: it waits for the drawing
    service, which numbers it on from what SQL holds."""
    drawing_port = free_port()
    room = RoomServer(
        nats_url=nats_server.url,
        log_path=tmp_path / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        drawing_url=f"http://127.0.0.1:{drawing_port}",
    )
    starting = asyncio.ensure_future(asyncio.to_thread(room.start, START_TIMEOUT))
    drawing = DrawingService(
        nats_url=nats_server.url,
        database_url=database_url,
        log_path=tmp_path / "drawing.log",
        port=drawing_port,
    )
    try:

        async def waiting() -> bool:
            return "waiting for the drawing service to declare" in room.log_path.read_text()

        await eventually_async(waiting, timeout=30, what="the room waiting for the op log")
        nc = await nats.connect(nats_server.url)
        try:
            with pytest.raises(NotFoundError):
                await nc.jetstream().stream_info(OPS_STREAM)
        finally:
            await nc.close()
        await asyncio.to_thread(drawing.start, START_TIMEOUT)

        assert await starting is room  # ready once the drawing service declared the log
    finally:
        with contextlib.suppress(Exception):
            await starting
        room.stop()
        drawing.stop()


# ------------------------------------------------------------------------------------ database outage


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, to stop and start without disturbing the others."""
    try:
        server = PostgresServer()
    except PostgresUnavailableError as error:
        missing_dependency(str(error))
    server.start()
    yield server
    server.stop()


def stop_postgres(server: PostgresServer) -> None:
    assert server.process is not None
    assert server.process.process is not None
    server.process.process.send_signal(signal.SIGINT)  # "fast" shutdown: clients are disconnected
    server.process.stop(timeout=15)


def start_postgres(server: PostgresServer) -> None:
    assert server.process is not None
    old = server.process
    server.process = Supervised(old.name, old.command, log_path=old.log_path, user=old.user).start()
    server.process.wait_until(server.accepting, timeout=30, what="accepting connections")


@pytest.mark.postgres
async def test_while_postgresql_is_down_nothing_is_acknowledged_or_lost(
    nats_server: NatsServer, private_postgres: PostgresServer, tmp_path: Path
) -> None:
    service = started_service(nats_server.url, private_postgres.create_database(), tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            before = await log_ops(nats_server.url, "outage", [stroke(i) for i in range(50)])
            await all_stored(http, "outage", 50)

            stop_postgres(private_postgres)
            during = await log_ops(nats_server.url, "outage", [stroke(i) for i in range(50, 250)])

            async def not_ready() -> bool:
                response = await http.get("/readyz")
                return response.status_code == 503 and "database" in response.text

            await eventually_async(not_ready, what="/readyz reporting the database down")

            async def lagging() -> float:
                return metric((await http.get("/metrics")).text, "drawnet_drawing_consumer_pending_ops") > 0

            await eventually_async(lagging, what="the consumer's lag as a metric")
            nc = await nats.connect(nats_server.url)
            info = await nc.jetstream().consumer_info(OPS_STREAM, "drawing-persister")
            await nc.close()
            assert info.ack_floor.stream_seq <= before[-1]  # nothing past the outage acknowledged

            start_postgres(private_postgres)
            ops = await all_stored(http, "outage", 250)

            assert [op["seq"] for op in ops] == before + during
            assert len({op["op"]["id"] for op in ops}) == 250

            async def caught_up() -> bool:
                return metric((await http.get("/metrics")).text, "drawnet_drawing_consumer_pending_ops") == 0

            await eventually_async(caught_up, what="no lag once the database is back")
            assert (await http.get("/readyz")).status_code == 200
    finally:
        service.stop()


@pytest.mark.postgres
async def test_a_crash_with_a_batch_in_hand_loses_nothing(
    nats_server: NatsServer, private_postgres: PostgresServer, tmp_path: Path
) -> None:
    """Killed while it holds fetched, unacknowledged ops: the next run stores them before anything after."""
    service = started_service(nats_server.url, private_postgres.create_database(), tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            first = await log_ops(nats_server.url, "crash", [stroke(i) for i in range(10)])
            await all_stored(http, "crash", 10)
            stop_postgres(private_postgres)
            held = await log_ops(nats_server.url, "crash", [stroke(i) for i in range(10, 40)])

            async def in_hand() -> bool:
                nc = await nats.connect(nats_server.url)
                info = await nc.jetstream().consumer_info(OPS_STREAM, "drawing-persister")
                await nc.close()
                return bool(info.delivered.stream_seq > info.ack_floor.stream_seq)

            await eventually_async(in_hand, what="a batch fetched and not acknowledged")
            assert service.process is not None
            service.process.kill()
            start_postgres(private_postgres)
            after = await log_ops(nats_server.url, "crash", [stroke(i) for i in range(40, 60)])
            service.start(timeout=START_TIMEOUT)

            ops = await all_stored(http, "crash", 60)
            assert [op["seq"] for op in ops] == first + held + after
    finally:
        service.stop()


# ------------------------------------------------------------------------------------ migrations


async def test_migrations_make_exactly_the_schema_the_models_describe(database_url: str) -> None:
    engine = db.make_engine(normalize_database_url(database_url))
    try:
        await db.migrate(engine)
        await db.migrate(engine)  # a second start finds nothing to do

        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


async def test_a_database_from_before_migrations_is_adopted_and_keeps_its_ops(
    nats_server: NatsServer, database_url: str, tmp_path: Path
) -> None:
    # What the first drawing service made with create_all(): the ops table alone, with one op in it.
    engine = db.make_engine(normalize_database_url(database_url))
    legacy = MetaData()
    OpRow.__table__.to_metadata(legacy)  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.run_sync(legacy.create_all)
        await conn.execute(
            OpRow.__table__.insert().values(  # type: ignore[attr-defined]
                seq=1,
                namespace="default",
                session="old",
                op_id="s0",
                kind="stroke",
                author="a",
                ts=0.0,
                body=encode(stroke(0)),
            )
        )
    await engine.dispose()

    service = DrawingService(
        nats_url=nats_server.url, database_url=database_url, log_path=tmp_path / "drawing.log"
    ).start(timeout=START_TIMEOUT)
    try:
        async with httpx.AsyncClient(base_url=service.url) as http:
            board = (await http.get("/api/v1/sessions/old/board")).json()
            assert [s["id"] for s in board["strokes"]] == ["s0"]
            assert (await http.get("/api/v1/sessions")).status_code == 200
    finally:
        service.stop()
