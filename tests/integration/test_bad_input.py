"""Bad input gets a clear answer (a close code with a reason, or a nack) and hurts only its sender."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from drawnet.embedded.components import NatsServer, RoomServer
from drawnet.protocol import Ack, AddStroke, CloseCode, Committed, Nack
from drawnet.testkit import RoomClient
from drawnet.testkit.client import line
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from tests.conftest import Join

pytestmark = pytest.mark.integration


async def _still_drawing(ann: RoomClient, bob: RoomClient) -> None:
    """Ann's stroke still reaches Bob: the room and the session are unharmed."""
    ack = await ann.draw_stroke(line(5))
    assert isinstance(ack, Ack)
    await bob.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == ack.id else None)


class TestMalformedFrames:
    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            ("not json at all", "not JSON"),
            (json.dumps({"t": "teleport"}), "invalid message"),
            (json.dumps({"t": "points", "stroke": "s", "pts": [[1, 2]]}), "invalid message"),
            (json.dumps({"t": "points", "stroke": "s", "pts": [[1, 2, 7]]}), "<= 1"),
            (json.dumps({"t": "begin", "stroke": "s", "tool": "pen", "color": "red", "width": 1}), "color"),
        ],
    )
    async def test_close_that_connection_with_a_reason_and_others_keep_drawing(
        self, room_server: RoomServer, frame: str, reason: str, join: Join
    ) -> None:
        async with (
            await join(room_server, "bad") as ann,
            await join(room_server, "bad") as bob,
            await join(room_server, "bad") as mallory,
        ):
            await mallory.send(frame)
            code, why = await mallory.wait_closed()
            assert code == CloseCode.MALFORMED
            assert reason in why
            await _still_drawing(ann, bob)

    async def test_the_first_message_must_be_hello(self, room_server: RoomServer) -> None:
        raw = await RoomClient.connect_raw(room_server.url, "hello-first")
        await raw.send(
            json.dumps({"t": "begin", "stroke": "s", "tool": "pen", "color": "#000000", "width": 1})
        )
        assert await raw.wait_closed() == (CloseCode.HELLO_EXPECTED, "the first message must be hello")

    async def test_an_unknown_protocol_version_is_refused_with_both_versions(
        self, room_server: RoomServer
    ) -> None:
        raw = await RoomClient.connect_raw(room_server.url, "versions")
        await raw.send(json.dumps({"t": "hello", "v": 99, "client": "c1"}))
        code, reason = await raw.wait_closed()
        assert code == CloseCode.UNSUPPORTED_VERSION
        assert "99" in reason
        assert "speaks 1" in reason

    async def test_an_invalid_session_name_is_refused(self, room_server: RoomServer) -> None:
        raw = await RoomClient.connect_raw(room_server.url, "Not_A_Label")
        code, reason = await raw.wait_closed()
        assert code == CloseCode.INVALID_SESSION
        assert "Not_A_Label" in reason


class TestLimits:
    @pytest.fixture
    def small_room(self, nats_server: NatsServer, tmp_path: Path) -> Iterator[RoomServer]:
        room = RoomServer(
            nats_url=nats_server.url,
            log_path=tmp_path / "small-room.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={
                "DRAWNET_ROOM_MAX_POINTS_PER_STROKE": "100",
                "DRAWNET_ROOM_MAX_FRAME_BYTES": "8192",
                "DRAWNET_ROOM_MAX_PARTICIPANTS": "2",
                "DRAWNET_ROOM_MAX_STROKES_PER_BOARD": "2",
                "DRAWNET_ROOM_MAX_POINTS_PER_BOARD": "150",
                "DRAWNET_ROOM_MAX_POINTS_PER_MESSAGE": "16",
            },
        ).start()
        yield room
        room.stop()

    async def test_the_welcome_tells_the_limits_in_force(self, small_room: RoomServer, join: Join) -> None:
        async with await join(small_room, "limits") as ann:
            assert ann.welcome is not None
            assert ann.welcome.limits.max_points_per_stroke == 100
            assert ann.welcome.limits.max_participants == 2

    async def test_a_stroke_over_max_points_per_stroke_is_nacked_with_the_numbers(
        self, small_room: RoomServer, join: Join
    ) -> None:
        async with (
            await join(small_room, "points") as ann,
            await join(small_room, "points") as bob,
        ):
            op = AddStroke(id="too-long", tool="pen", color="#000000", width=1, opacity=1, pts=line(101))
            answer = await ann.submit(op)
            assert answer == Nack(
                id="too-long",
                code="max_points_per_stroke",
                reason="stroke of 101 points exceeds max_points_per_stroke 100",
            )
            await _still_drawing(ann, bob)

    async def test_too_many_live_points_in_one_message_close_with_the_numbers(
        self, small_room: RoomServer, join: Join
    ) -> None:
        async with await join(small_room, "live-points") as ann:
            pts = [[float(i), 0.0, 0.5] for i in range(17)]
            await ann.send(json.dumps({"t": "points", "stroke": "s1", "pts": pts}))
            code, reason = await ann.wait_closed()
            assert code == CloseCode.LIMIT_EXCEEDED
            assert reason == "17 points in one message exceed max_points_per_message 16"

    async def test_a_frame_over_max_frame_bytes_closes_with_1009(
        self, small_room: RoomServer, join: Join
    ) -> None:
        async with (
            await join(small_room, "frames") as ann,
            await join(small_room, "frames") as bob,
        ):
            await bob.send(
                json.dumps({"t": "points", "stroke": "s", "pts": [[0, 0, 0.5]], "pad": "x" * 9000})
            )
            code, reason = await bob.wait_closed()
            assert code == CloseCode.MESSAGE_TOO_BIG
            assert reason.endswith("bytes exceeds max_frame_bytes 8192")
            async with await join(small_room, "frames") as carol:
                await _still_drawing(ann, carol)

    async def test_a_full_room_refuses_the_next_participant(self, small_room: RoomServer, join: Join) -> None:
        async with (
            await join(small_room, "full") as ann,
            await join(small_room, "full") as bob,
        ):
            carol = await RoomClient.connect_raw(small_room.url, "full")
            await carol.send(
                json.dumps({"t": "hello", "v": 1, "client": "carol", "token": Signer().token("full")})
            )
            assert await carol.wait_closed() == (CloseCode.ROOM_FULL, "session is full: max_participants 2")
            await _still_drawing(ann, bob)

    async def test_a_board_full_of_points_refuses_a_stroke_that_would_pass_them(
        self, small_room: RoomServer, join: Join
    ) -> None:
        async with await join(small_room, "points-full") as ann, await join(small_room, "points-full") as bob:
            assert isinstance(await ann.draw_stroke(line(100), batch=16), Ack)
            answer = await ann.draw_stroke(line(60), batch=16)
            assert isinstance(answer, Nack)
            assert answer.code == "max_points_per_board"
            assert answer.reason == "board holds 100 points, this stroke 60 more: max_points_per_board 150"
            # What still fits goes in, and everyone goes on.
            assert isinstance(await bob.draw_stroke(line(50), batch=16), Ack)

    async def test_a_full_board_refuses_more_strokes(self, small_room: RoomServer, join: Join) -> None:
        async with await join(small_room, "board-full") as ann:
            for _ in range(2):
                await ann.draw_stroke(line(2))
            await ann.wait_for(lambda m: m if isinstance(m, Committed) and len(ann.board) == 2 else None)
            answer = await ann.draw_stroke(line(2))
            assert isinstance(answer, Nack)
            assert answer.code == "max_strokes_per_board"
            assert "max_strokes_per_board 2" in answer.reason
