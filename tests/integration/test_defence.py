"""A slow or hostile client hurts only itself: tokens, roles, rate limits, slow consumers, fuzzed frames."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drawnet.embedded.components import NatsServer, RoomServer
from drawnet.protocol import (
    Ack,
    AddStroke,
    Begin,
    ClearBoard,
    CloseCode,
    Committed,
    Cursor,
    Hello,
    Left,
    Nack,
    Points,
    Submit,
    Welcome,
    encode,
)
from drawnet.testkit import RoomClient, eventually_async, holds
from drawnet.testkit.client import line
from drawnet.testkit.metrics import metric
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from tests.conftest import Join

pytestmark = pytest.mark.integration

signer = Signer()


def small_window(port: int) -> socket.socket:
    """A connection to the room whose receive buffer is tiny from the start (set before connecting)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def stroke(op_id: str) -> AddStroke:
    return AddStroke(id=op_id, tool="pen", color="#000000", width=2, opacity=1, pts=line(4))


async def hello_with(room: RoomServer, session: str, token: str | None) -> tuple[int | None, str]:
    raw = await RoomClient.connect_raw(room.url, session)
    await raw.send(encode(Hello(v=1, client="c1", token=token)))
    return await raw.wait_closed()


async def still_drawing(ann: RoomClient, bob: RoomClient) -> None:
    ack = await ann.draw_stroke(line(5))
    assert isinstance(ack, Ack)
    await bob.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == ack.id else None)


class TestJoinTokens:
    async def test_a_hello_without_a_token_is_refused(self, room_server: RoomServer) -> None:
        assert await hello_with(room_server, "s", None) == (CloseCode.FORBIDDEN, "a join token is required")

    async def test_a_token_for_another_session_cannot_join(self, room_server: RoomServer) -> None:
        code, reason = await hello_with(room_server, "mine", signer.token("theirs"))
        assert code == CloseCode.FORBIDDEN
        assert reason == "join token is for session default/theirs, not default/mine"

    async def test_an_expired_token_is_refused(self, room_server: RoomServer) -> None:
        expired = signer.token("s", ttl_seconds=10, now=1_000_000)
        assert await hello_with(room_server, "s", expired) == (CloseCode.FORBIDDEN, "join token expired")

    async def test_a_forged_token_is_refused(self, room_server: RoomServer) -> None:
        forged = Signer(keys="test:" + "f" * 40).token("s")
        code, reason = await hello_with(room_server, "s", forged)
        assert code == CloseCode.FORBIDDEN
        assert "Signature verification failed" in reason


class TestRoles:
    async def test_a_viewer_sees_everything_but_cannot_change_the_board(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with (
            await join(room_server, "roles", name="Ann") as ann,
            await join(room_server, "roles", name="Vic", role="viewer") as vic,
        ):
            assert vic.welcome is not None
            assert vic.welcome.you.role == "viewer"
            await still_drawing(ann, vic)
            answer = await vic.submit(stroke("from-viewer"))
            assert answer == Nack(
                id="from-viewer", code="forbidden", reason="viewers cannot change the board"
            )
            await vic.send(encode(Cursor(x=1, y=2)))  # pointing is fine
            await ann.wait_for(lambda m: m if isinstance(m, Cursor) else None)
            await vic.send(encode(Begin(stroke="v1", tool="pen", color="#000000", width=2)))
            assert await vic.wait_closed() == (CloseCode.FORBIDDEN, "viewers cannot draw")

    async def test_only_the_owner_can_clear_the_board(self, room_server: RoomServer, join: Join) -> None:
        async with (
            await join(room_server, "clear", name="Ed") as editor,
            await join(room_server, "clear", name="Olga", role="owner") as owner,
        ):
            await editor.submit(stroke("keep"))
            refused = await editor.submit(ClearBoard(id="c1"))
            assert refused == Nack(
                id="c1", code="forbidden", reason="only the session's owner can clear the board"
            )
            cleared = await owner.submit(ClearBoard(id="c2"))
            assert isinstance(cleared, Ack)
            await editor.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == "c2" else None)
            assert len(editor.board) == 0


def _answer_to(op_id: str) -> Callable[[object], Ack | Nack | None]:
    return lambda m: m if isinstance(m, Ack | Nack) and m.id == op_id else None


class TestRateLimits:
    @pytest.fixture
    def strict_room(self, nats_server: NatsServer, tmp_path: Path) -> Iterator[RoomServer]:
        room = RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / "strict.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={
                "DRAWNET_ROOM_LIVE_RATE_PER_SECOND": "5",
                "DRAWNET_ROOM_LIVE_BURST": "10",
                "DRAWNET_ROOM_OPS_RATE_PER_SECOND": "1",
                "DRAWNET_ROOM_OPS_BURST": "3",
            },
        ).start()
        yield room
        room.stop()

    async def test_ops_over_the_rate_are_nacked_as_retryable(
        self, strict_room: RoomServer, join: Join
    ) -> None:
        async with await join(strict_room, "ops-rate", name="Ann") as ann:
            for i in range(5):
                await ann.send_op(stroke(f"s{i}"))
            answers = [await ann.wait_for(_answer_to(f"s{i}")) for i in range(5)]
            assert [type(a).__name__ for a in answers] == ["Ack", "Ack", "Ack", "Nack", "Nack"]
            assert answers[3] == Nack(
                id="s3", code="rate_limited", reason="over ops_rate_per_second 1: resend later"
            )

    async def test_an_op_flood_is_nacked_then_closed_and_others_keep_drawing(
        self, strict_room: RoomServer, join: Join
    ) -> None:
        async with (
            await join(strict_room, "op-flood", name="Ann") as ann,
            await join(strict_room, "op-flood", name="Bob") as bob,
            await join(strict_room, "op-flood", name="Mal") as mal,
        ):
            for i in range(40):
                await mal.send_op(stroke(f"m{i}"))
            assert await mal.wait_closed() == (
                CloseCode.RATE_LIMITED,
                "kept sending ops over ops_rate_per_second 1",
            )
            nacked = [m for m in mal.received if isinstance(m, Nack) and m.code == "rate_limited"]
            assert 0 < len(nacked) <= 3  # a burst's worth is refused and may be resent; then it is closed
            await still_drawing(ann, bob)

    async def test_one_old_op_sent_in_a_loop_is_held_to_the_rate_then_closed(
        self, strict_room: RoomServer, join: Join
    ) -> None:
        """The re-probe of issue 26: an op already on the board was acknowledged again with no rate, so a
        loop of it (771,513 frames in 8 s) slowed everyone's acks and was never closed."""
        async with (
            await join(strict_room, "dup-flood", name="Ann") as ann,
            await join(strict_room, "dup-flood", name="Bob") as bob,
            await join(strict_room, "dup-flood", name="Mal") as mal,
        ):
            assert isinstance(await mal.submit(stroke("old")), Ack)
            for _ in range(40):
                await mal.send_op(stroke("old"))
            assert await mal.wait_closed() == (
                CloseCode.RATE_LIMITED,
                "kept sending ops over ops_rate_per_second 1",
            )
            acked = [m for m in mal.received if isinstance(m, Ack) and m.id == "old"]
            assert 1 < len(acked) <= 3  # within the burst, a resend is acknowledged again, as before
            await still_drawing(ann, bob)

    async def test_a_live_flood_is_dropped_then_closed_and_others_keep_drawing(
        self, strict_room: RoomServer, join: Join
    ) -> None:
        async with (
            await join(strict_room, "flood", name="Ann") as ann,
            await join(strict_room, "flood", name="Bob") as bob,
            await join(strict_room, "flood", name="Mal") as mal,
        ):
            frame = encode(Points(stroke="m", pts=[(0.0, 0.0, 0.5)]))
            for _ in range(40):
                await mal.send(frame)
            assert await mal.wait_closed() == (
                CloseCode.RATE_LIMITED,
                "kept sending over live_rate_per_second 5",
            )
            relayed = sum(1 for m in ann.received if isinstance(m, Points) and m.by == mal.me)
            assert relayed <= 10  # the burst passed, the rest was dropped
            await still_drawing(ann, bob)


class TestSlowConsumers:
    @pytest.fixture
    def touchy_room(self, nats_server: NatsServer, tmp_path: Path) -> Iterator[RoomServer]:
        room = RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / "touchy.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={
                "DRAWNET_ROOM_SLOW_CONSUMER_LIVE_BYTES": "65536",
                "DRAWNET_ROOM_SLOW_CONSUMER_CLOSE_BYTES": "1048576",
                "DRAWNET_ROOM_LIVE_RATE_PER_SECOND": "100000",
                "DRAWNET_ROOM_LIVE_BURST": "100000",
                "DRAWNET_ROOM_USER_LIVE_RATE_PER_SECOND": "100000",
                "DRAWNET_ROOM_USER_LIVE_BURST": "100000",
                "DRAWNET_ROOM_OPS_RATE_PER_SECOND": "1000",
                "DRAWNET_ROOM_OPS_BURST": "1000",
                "DRAWNET_ROOM_USER_OPS_RATE_PER_SECOND": "1000",
                "DRAWNET_ROOM_USER_OPS_BURST": "1000",
            },
        ).start()
        yield room
        room.stop()

    async def test_a_client_that_stops_reading_loses_live_traffic_first_then_is_closed(
        self, touchy_room: RoomServer, join: Join
    ) -> None:
        # A client that never reads, with a small receive buffer: the room's buffer for it soon grows.
        sock = small_window(touchy_room.port)
        sloth = await websockets.connect(
            f"{touchy_room.url}/rooms/slow", sock=sock, max_queue=1, max_size=None
        )
        await sloth.send(encode(Hello(v=1, client="sloth", token=signer.token("slow", name="Sloth"))))
        async with (
            await join(touchy_room, "slow", name="Ann") as ann,
            await join(touchy_room, "slow", name="Bob") as bob,
            httpx.AsyncClient(base_url=touchy_room.http_url) as http,
        ):
            points = encode(Points(stroke="big", pts=[(float(i), float(i), 0.5) for i in range(200)]))

            async def rejected(reason: str) -> bool:
                text = (await http.get("/metrics")).text
                return metric(text, f'drawnet_room_rejected_total{{reason="{reason}"}}') > 0

            async def flood_live() -> bool:
                for _ in range(5):
                    await ann.send(points)
                return await rejected("slow_consumer_live")

            async def commit_big_strokes() -> bool:
                for _ in range(5):
                    await ann.send_op(
                        AddStroke(
                            id=ann.new_id(), tool="pen", color="#000000", width=2, opacity=1, pts=line(2000)
                        )
                    )
                return await rejected("slow_consumer")

            await eventually_async(flood_live, timeout=30, what="live traffic withheld from the slow client")
            # Committed ops are never dropped: they pile up until the slow client is closed.
            await eventually_async(commit_big_strokes, timeout=60, what="the slow client closed")
            await still_drawing(ann, bob)
        sloth.transport.abort()
        await sloth.wait_closed()

    async def test_a_late_joiner_downloading_a_big_board_is_not_a_slow_consumer(
        self, touchy_room: RoomServer, join: Join
    ) -> None:
        async with await join(touchy_room, "big", name="Ann") as ann:
            # About 6 MB of strokes: more than the kernel's socket buffers (about 4 MB here) plus
            # slow_consumer_close_bytes (1 MB), so most of the welcome waits in the room's own buffer.
            for _ in range(160):
                await ann.send_op(
                    AddStroke(
                        id=ann.new_id(), tool="pen", color="#000000", width=2, opacity=1, pts=line(2000)
                    )
                )
            await eventually_async(holds(lambda: len(ann.board) == 160), what="160 strokes committed")
        # A late joiner on a slow link: the welcome sits in the room's buffer, over slow_consumer_close_bytes.
        late = await RoomClient.connect_raw(touchy_room.url, "big", sock=small_window(touchy_room.port))
        late.ws.transport.pause_reading()
        await late.send(encode(Hello(v=1, client="late", token=signer.token("big", name="Late"))))
        async with httpx.AsyncClient(base_url=touchy_room.http_url) as http:

            async def welcome_waiting() -> bool:
                text = (await http.get("/metrics")).text
                line_ = next(x for x in text.splitlines() if x.startswith("drawnet_room_max_buffered_bytes"))
                return float(line_.split()[1]) > 1_048_576

            await eventually_async(welcome_waiting, what="the welcome buffered beyond the close threshold")
        late.ws.transport.resume_reading()
        welcome = await late.wait_for(lambda m: m if isinstance(m, Welcome) else None, timeout=30)
        assert welcome.snapshot is not None
        assert len(welcome.snapshot.strokes) == 160
        still_here = await late.submit(stroke("late-1"))  # not closed as a slow consumer
        assert isinstance(still_here, Ack)
        await late.close()


class TestDeadConnections:
    async def test_a_connection_that_answers_nothing_is_dropped_and_its_participant_leaves(
        self, nats_server: NatsServer, tmp_path: Path, join: Join
    ) -> None:
        room = RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / "idle.log",
            signing_keys=TEST_SIGNING_KEYS,
            # Pings must come more often than the idle timeout (the room refuses settings that do not).
            extra_env={"DRAWNET_ROOM_IDLE_TIMEOUT_SECONDS": "8", "DRAWNET_ROOM_PING_INTERVAL_SECONDS": "3"},
        ).start()
        async with await join(room, "idle", name="Ann") as ann:
            ghost = await join(room, "idle", name="Ghost")
            ghost_id = ghost.me
            ghost.ws.transport.pause_reading()  # a vanished laptop: no pongs, nothing at all
            left = await ann.wait_for(lambda m: m if isinstance(m, Left) else None, timeout=30)
            assert left.id == ghost_id
            ghost.ws.transport.abort()
        room.stop()


class TestFuzzedFrames:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        frames=st.lists(
            st.one_of(
                st.binary(max_size=200),
                st.text(max_size=200),
                st.from_type(Submit).map(encode),
                st.builds(
                    lambda pts: json.dumps({"t": "points", "stroke": "f", "pts": pts}),
                    st.lists(st.lists(st.floats(allow_nan=True), max_size=4), max_size=5),
                ),
            ),
            min_size=1,
            max_size=5,
        )
    )
    async def test_random_and_mutated_frames_only_close_their_sender(
        self, room_server: RoomServer, frames: list[bytes | str]
    ) -> None:
        expected = {
            CloseCode.MALFORMED,
            CloseCode.LIMIT_EXCEEDED,
            CloseCode.HELLO_EXPECTED,
            CloseCode.MESSAGE_TOO_BIG,
        }
        token = signer.token("fuzz", name="Fuzz")
        async with await RoomClient.join(room_server.url, "fuzz", name="Fuzz", token=token) as fuzz:
            for frame in frames:
                if fuzz.close_code is not None:
                    break
                try:
                    await fuzz.send(frame)
                except websockets.ConnectionClosed:
                    break
            probe = stroke(fuzz.new_id())
            if fuzz.close_code is None:
                with contextlib.suppress(ConnectionError, websockets.ConnectionClosed):
                    await fuzz.submit(probe, timeout=5)
            code = fuzz.close_code
            assert code is None or code in expected, (code, fuzz.close_reason)
        # The room still works and its board is whole: a fresh joiner sees what the log says.
        async with await RoomClient.join(
            room_server.url, "fuzz", token=signer.token("fuzz", name="Check")
        ) as check:
            ack = await check.draw_stroke(line(3))
            assert isinstance(ack, Ack)
            await check.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == ack.id else None)
            assert all(s.pts for s in check.board.strokes if isinstance(s, AddStroke))


async def test_metrics_count_what_happened(room_server: RoomServer, join: Join) -> None:
    async with (
        await join(room_server, "counted", name="Ann") as ann,
        await join(room_server, "counted", name="Bob") as bob,
    ):
        await still_drawing(ann, bob)
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{room_server.http_url}/metrics")).text
    assert metric(text, 'drawnet_room_messages_received_total{kind="points"}') >= 1
    assert metric(text, 'drawnet_room_messages_received_total{kind="op"}') == 1
    assert metric(text, "drawnet_room_ops_acked_total") == 1
    assert metric(text, "drawnet_room_connections") == 2
    assert metric(text, "drawnet_room_sessions") == 1
    assert metric(text, "drawnet_room_jetstream_publish_seconds_count") == 1
    assert metric(text, "drawnet_room_fanout_seconds_count") >= 1
    assert metric(text, 'drawnet_room_sent_bytes_total{channel="ops"}') > 0
    assert metric(text, 'drawnet_room_received_bytes_total{kind="op"}') > 0
    assert metric(text, 'drawnet_room_board_loads_total{source="log"}') == 1
    # Every reason is exported from the start, so that rate() sees the first refusal.
    assert metric(text, 'drawnet_room_rejected_total{reason="room_full"}') == 0
