"""Undo and redo are understood by the room: they follow the user, across connections and devices."""

from __future__ import annotations

import pytest

from drawnet.embedded.components import RoomServer
from drawnet.protocol import Ack, Committed, Erase, Nack, Redo, Undo
from drawnet.testkit import RoomClient
from drawnet.testkit.client import line
from tests.conftest import Join

pytestmark = pytest.mark.integration


async def committed(client: RoomClient, op_id: str) -> Committed:
    return await client.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == op_id else None)


class TestUndoRedo:
    async def test_undo_and_redo_of_my_stroke_reach_everyone(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with (
            await join(room_server, "undo", name="Ann") as ann,
            await join(room_server, "undo", name="Bob") as bob,
        ):
            drawn = await ann.draw_stroke(line(5))
            await committed(bob, drawn.id)
            undo = await ann.submit(Undo(id=ann.new_id()))
            assert isinstance(undo, Ack)
            logged = await committed(bob, undo.id)
            assert logged.op == Undo(id=undo.id, target=drawn.id)  # the room named the op it undoes
            assert len(bob.board) == 0

            redo = await ann.submit(Redo(id=ann.new_id()))
            await committed(bob, redo.id)
            assert [s.id for s in bob.board.strokes] == [drawn.id]
            assert ann.board.state_hash() == bob.board.state_hash()

    async def test_undo_follows_the_user_to_another_device(self, room_server: RoomServer, join: Join) -> None:
        async with await join(room_server, "devices", name="Ann") as laptop:
            drawn = await laptop.draw_stroke(line(5))
        async with await join(room_server, "devices", name="Ann") as phone:  # same user, new connection
            undo = await phone.submit(Undo(id="phone-1"))
            assert isinstance(undo, Ack)
            logged = await committed(phone, "phone-1")
            assert logged.op == Undo(id="phone-1", target=drawn.id)

    async def test_one_user_cannot_undo_another_users_ops(self, room_server: RoomServer, join: Join) -> None:
        async with (
            await join(room_server, "mine", name="Ann") as ann,
            await join(room_server, "mine", name="Bob") as bob,
        ):
            drawn = await ann.draw_stroke(line(5))
            await committed(bob, drawn.id)
            answer = await bob.submit(Undo(id="bob-undo"))
            assert answer == Nack(id="bob-undo", code="nothing_to_undo", reason="you have no op to undo")
            stale = await ann.submit(Undo(id="ann-undo", target="not-mine"))
            assert isinstance(stale, Nack)
            assert stale.code == "stale"

    async def test_an_undone_erase_brings_the_strokes_back_for_late_joiners_too(
        self, room_server: RoomServer, join: Join
    ) -> None:
        async with await join(room_server, "erase", name="Ann") as ann:
            first = await ann.draw_stroke(line(5))
            second = await ann.draw_stroke(line(5, y0=10))
            await ann.submit(Erase(id="e1", strokes=[first.id]))
            await committed(ann, "e1")
            async with await join(room_server, "erase", name="Late") as late:
                assert [s.id for s in late.board.strokes] == [second.id]
                await ann.submit(Undo(id="u1"))
                await committed(late, "u1")
                assert [s.id for s in late.board.strokes] == [first.id, second.id]
