"""The thin vertical slice, end to end through real NATS, a real room and a real drawing service."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from drawnet.embedded.components import DrawingService, RoomServer
from drawnet.protocol import Ack, AddStroke, Begin, Board, Committed, Joined, Left, Points
from drawnet.testkit import eventually_async
from drawnet.testkit.client import line
from tests.conftest import Join

pytestmark = pytest.mark.integration


class TestTwoParticipants:
    async def test_each_sees_the_others_live_points_and_committed_stroke(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with (
            await join(room_server, "board-a", name="Ann") as ann,
            await join(room_server, "board-a", name="Bob") as bob,
        ):
            assert [p.name for p in bob.welcome.participants] == ["Ann", "Bob"]  # type: ignore[union-attr]
            joined = await ann.wait_for(lambda m: m if isinstance(m, Joined) else None)
            assert joined.who.name == "Bob"

            ack = await ann.draw_stroke(line(40), color="#ff0000")

            assert isinstance(ack, Ack)
            begin = await bob.wait_for(lambda m: m if isinstance(m, Begin) else None)
            assert (begin.by, begin.color) == (ann.me, "#ff0000")
            live = await bob.wait_for(lambda m: m if isinstance(m, Points) else None)
            assert live.pts[0] == (0.0, 0.0, 0.5)
            committed = await bob.wait_for(lambda m: m if isinstance(m, Committed) else None)
            assert (committed.seq, committed.op.id, committed.by) == (ack.seq, ack.id, "user-ann")
            await ann.wait_for(lambda m: m if isinstance(m, Committed) else None)
            assert ann.board.state_hash() == bob.board.state_hash()
            assert len(bob.board) == 1

    async def test_the_sender_does_not_get_its_own_live_points_back(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with (
            await join(room_server, "board-b") as ann,
            await join(room_server, "board-b") as bob,
        ):
            await ann.draw_stroke(line(5))
            await bob.draw_stroke(line(5))
            await ann.wait_for(lambda m: m if isinstance(m, Points) else None)
            assert all(m.by == bob.me for m in ann.received if isinstance(m, Points | Begin))

    async def test_a_leaving_participant_is_announced(self, room_server: RoomServer, join: Join) -> None:
        ann = await join(room_server, "board-c")
        bob = await join(room_server, "board-c")
        bob_id = bob.me
        await bob.close()
        left = await ann.wait_for(lambda m: m if isinstance(m, Left) else None)
        assert left.id == bob_id
        await ann.close()

    async def test_sessions_are_isolated(self, room_server: RoomServer, join: Join) -> None:
        async with (
            await join(room_server, "one") as ann,
            await join(room_server, "two") as bob,
        ):
            await ann.draw_stroke(line(3))
            probe = await bob.draw_stroke(line(3))
            await bob.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == probe.id else None)
            assert [stroke.id for stroke in bob.board.strokes] == [probe.id]
            assert not any(isinstance(m, Begin | Points) for m in bob.received)


class TestLateJoiner:
    async def test_gets_the_board_in_its_welcome(self, room_server: RoomServer, join: Join) -> None:
        async with await join(room_server, "late") as ann:
            for _ in range(5):
                await ann.draw_stroke(line(10))
            await ann.wait_for(lambda m: m if isinstance(m, Committed) and len(ann.board) == 5 else None)
            async with await join(room_server, "late") as bob:
                assert bob.welcome is not None
                assert bob.welcome.snapshot is not None
                assert len(bob.welcome.snapshot.strokes) == 5
                assert bob.board.state_hash() == ann.board.state_hash()

    async def test_a_reconnecting_client_gets_only_the_tail_since_its_seq(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with await join(room_server, "tail") as ann:
            await ann.draw_stroke(line(4))
            first = await ann.wait_for(lambda m: m if isinstance(m, Committed) else None)
            second = await ann.draw_stroke(line(4))
            resumed = Board()
            resumed.apply(first)

            async with await join(room_server.url, "tail", since=first.seq, board=resumed) as again:
                assert again.welcome is not None
                assert again.welcome.snapshot is None
                assert [c.op.id for c in again.welcome.ops] == [second.id]
                assert len(again.board) == 2


class TestExactlyOnce:
    async def test_a_resent_op_is_acked_with_its_first_seq_and_applied_once(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with await join(room_server, "once") as ann:
            op = AddStroke(id="resent-1", tool="pen", color="#000000", width=2, opacity=1, pts=line(3))
            first = await ann.submit(op)
            await ann.wait_for(lambda m: m if isinstance(m, Committed) else None)
            ann.received.clear()
            again = await ann.submit(op)
            assert isinstance(first, Ack)
            assert isinstance(again, Ack)
            assert again.seq == first.seq
            async with await join(room_server, "once") as bob:
                assert [stroke.id for stroke in bob.board.strokes] == ["resent-1"]


class TestPersistence:
    async def test_an_acked_stroke_is_stored_in_sql(
        self, drawing_service: DrawingService, join: Join
    ) -> None:
        async with await join(drawing_service.room_public_url, "stored") as ann:
            ack = await ann.draw_stroke(line(20), color="#00aa00")
        assert isinstance(ack, Ack)

        async with httpx.AsyncClient(base_url=drawing_service.url) as http:

            async def stored() -> list[dict[str, Any]]:
                response = await http.get("/api/v1/sessions/stored/ops")
                response.raise_for_status()
                ops: list[dict[str, Any]] = response.json()
                return ops

            ops = await eventually_async(stored, what="the op in SQL")
            board = (await http.get("/api/v1/sessions/stored/board")).json()
        assert [(op["seq"], op["op"]["id"]) for op in ops] == [(ack.seq, ack.id)]
        assert board["seq"] == ack.seq
        assert board["strokes"][0]["color"] == "#00aa00"
        assert len(board["strokes"][0]["pts"]) == 20
