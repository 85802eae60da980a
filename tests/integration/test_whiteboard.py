"""Shapes, texts, notes, selections moved as one op: through a real room and op log, for two people."""

from __future__ import annotations

import pytest

from drawnet.embedded.components import RoomServer
from drawnet.protocol import (
    Ack,
    AddNote,
    AddShape,
    AddText,
    CloseCode,
    Committed,
    Drag,
    EditText,
    Nack,
    Op,
    Reorder,
    Sketch,
    Transform,
    Undo,
)
from drawnet.protocol.codec import encode
from drawnet.testkit import RoomClient
from tests.conftest import Join

pytestmark = pytest.mark.integration


async def committed(client: RoomClient, op_id: str) -> Committed:
    return await client.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == op_id else None)


def box(op_id: str, x: float = 0.0) -> AddShape:
    return AddShape(id=op_id, shape="rect", x=x, y=0, w=100, h=50, color="#1e1e1e", width=2, fill="#ffec99")


async def test_every_kind_and_a_transform_of_them_all_reach_the_other_as_one_op(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "kinds", name="Ann") as ann,
        await join(room_server, "kinds", name="Bob") as bob,
    ):
        ops: list[Op] = [
            box("r1"),
            AddText(id="t1", x=10, y=80, text="Hello\nworld", size=24, color="#e03131"),
            AddNote(id="n1", x=200, y=0, w=200, text="todo", size=20, fill="#ffec99"),
        ]
        for op in ops:
            assert isinstance(await ann.submit(op), Ack)
        move = Transform(id="m1", items=["r1", "t1", "n1"], m=(1, 0, 0, 1, 40, -10))
        assert isinstance(await ann.submit(move), Ack)
        await committed(bob, "m1")
        assert [m for _, m, _ in bob.board.placed()] == [(1, 0, 0, 1, 40, -10)] * 3
        # Undo takes the whole move back in one step, for everyone.
        undo = await ann.submit(Undo(id=ann.new_id()))
        assert isinstance(undo, Ack)
        await committed(bob, undo.id)
        assert [m for _, m, _ in bob.board.placed()] == [(1, 0, 0, 1, 0, 0)] * 3
        assert ann.board.state_hash() == bob.board.state_hash()


async def test_concurrent_moves_of_one_item_compose_in_log_order_everywhere(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "conflict", name="Ann") as ann,
        await join(room_server, "conflict", name="Bob") as bob,
    ):
        await ann.submit(box("r1"))
        await committed(bob, "r1")
        # Both move it at once, neither having seen the other's move.
        await ann.send_op(Transform(id="a-move", items=["r1"], m=(2, 0, 0, 2, 0, 0)))
        await bob.send_op(Transform(id="b-move", items=["r1"], m=(1, 0, 0, 1, 10, 0)))
        for client in (ann, bob):
            await committed(client, "a-move")
            await committed(client, "b-move")
        assert ann.board.state_hash() == bob.board.state_hash()
        ((_, m, _),) = ann.board.placed()
        assert m in {(2, 0, 0, 2, 10, 0), (2, 0, 0, 2, 20, 0)}  # one after the other, in log order


async def test_an_edit_replaces_the_text_and_undo_brings_the_old_one_back(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "edit", name="Ann") as ann,
        await join(room_server, "edit", name="Bob") as bob,
    ):
        await ann.submit(AddNote(id="n1", x=0, y=0, w=200, text="draft", size=20, fill="#ffec99"))
        await bob.submit(EditText(id="e1", item="n1", text="final\ntwo lines"))
        await committed(ann, "e1")
        assert ann.board.placed()[0][2] == "final\ntwo lines"
        undo = await bob.submit(Undo(id=bob.new_id()))
        assert isinstance(undo, Ack)
        await committed(ann, undo.id)
        assert ann.board.placed()[0][2] == "draft"


async def test_the_new_limits_are_nacked_with_their_names_and_numbers(
    room_server: RoomServer, join: Join
) -> None:
    async with await join(room_server, "limits", name="Ann") as ann:
        long = await ann.submit(AddText(id="t1", x=0, y=0, text="x" * 4001, size=24, color="#1e1e1e"))
        assert long == Nack(
            id="t1", code="max_text_chars", reason="text of 4001 characters exceeds max_text_chars 4000"
        )
        big = await ann.submit(AddText(id="t2", x=0, y=0, text="x", size=500, color="#1e1e1e"))
        assert isinstance(big, Nack)
        assert big.code == "max_font_size"
        flat = await ann.submit(Transform(id="m1", items=["t1"], m=(1, 0, 0, 0, 0, 0)))
        assert isinstance(flat, Nack)
        assert flat.code == "singular_transform"
        wide = await ann.submit(
            AddShape(id="s1", shape="line", x=0, y=0, w=1, h=1, color="#1e1e1e", width=500)
        )
        assert isinstance(wide, Nack)
        assert wide.code == "max_width"
        # The connection still works.
        assert isinstance(await ann.submit(box("r1")), Ack)


async def test_a_drag_is_relayed_live_to_the_others(room_server: RoomServer, join: Join) -> None:
    async with (
        await join(room_server, "drag", name="Ann") as ann,
        await join(room_server, "drag", name="Bob") as bob,
    ):
        await ann.submit(box("r1"))
        await ann.send(b'{"t":"drag","items":["r1"],"m":[1,0,0,1,5,5]}')
        seen = await bob.wait_for(lambda m: m if isinstance(m, Drag) else None)
        assert (seen.items, seen.m, seen.by) == (["r1"], (1, 0, 0, 1, 5, 5), ann.me)


async def test_a_reorder_changes_the_stacking_order_for_everyone_and_undo_takes_it_back(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "stacking", name="Ann") as ann,
        await join(room_server, "stacking", name="Bob") as bob,
    ):
        for item in ("a", "b", "c"):
            await ann.submit(box(item))
        front = await bob.submit(Reorder(id="front", items=["a"], to="front"))
        assert isinstance(front, Ack)
        await committed(ann, "front")
        assert [item.id for item in ann.board.strokes] == ["b", "c", "a"]
        undo = await bob.submit(Undo(id=bob.new_id()))
        assert isinstance(undo, Ack)
        await committed(ann, undo.id)
        assert [item.id for item in ann.board.strokes] == ["a", "b", "c"]
        assert ann.board.state_hash() == bob.board.state_hash()


async def test_a_malformed_or_oversized_reorder_closes_the_connection_naming_the_field(
    room_server: RoomServer, join: Join
) -> None:
    async with await join(room_server, "bad-order", name="Ann") as ann:
        await ann.send(b'{"t":"op","op":{"kind":"reorder","id":"r1","items":["a"],"to":"sideways"}}')
        code, reason = await ann.wait_closed()
        assert code == CloseCode.MALFORMED
        assert "$.op.to" in reason
    async with await join(room_server, "bad-order", name="Bob") as bob:
        items = ",".join(f'"i{n}"' for n in range(1001))  # over HARD_MAX_ITEMS_PER_OP
        await bob.send(
            b'{"t":"op","op":{"kind":"reorder","id":"r2","items":[%s],"to":"front"}}' % items.encode()
        )
        code, reason = await bob.wait_closed()
        assert code == CloseCode.MALFORMED
        assert "length <= 1000" in reason
        assert "$.op.items" in reason
    async with await join(room_server, "bad-order", name="Cy") as cy:
        assert isinstance(await cy.submit(box("r3")), Ack)  # the room goes on


async def test_a_shape_being_drawn_is_relayed_live_and_never_logged(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "sketch", name="Ann") as ann,
        await join(room_server, "sketch", name="Bob") as bob,
    ):
        await ann.submit(box("r0"))
        await committed(bob, "r0")
        seq = bob.board.seq
        growing = box("r1")
        await ann.send(encode(Sketch(id="r1", shape=growing)))
        seen = await bob.wait_for(lambda m: m if isinstance(m, Sketch) else None)
        assert (seen.id, seen.shape, seen.by) == ("r1", growing, ann.me)
        await ann.send(encode(Sketch(id="r1")))
        ended = await bob.wait_for(lambda m: m if isinstance(m, Sketch) and m.shape is None else None)
        assert ended.id == "r1"
        # Live only: the op log and the boards did not move.
        await ann.submit(box("r2"))
        await committed(bob, "r2")
        assert [item.id for item in bob.board.strokes] == ["r0", "r2"]
        assert bob.board.seq > seq


async def test_a_sketch_from_a_viewer_or_past_max_width_closes_that_connection(
    room_server: RoomServer, join: Join
) -> None:
    async with await join(room_server, "sketch-bad", name="Vic", role="viewer") as vic:
        await vic.send(encode(Sketch(id="v1", shape=box("v1"))))
        code, reason = await vic.wait_closed()
        assert (code, reason) == (CloseCode.FORBIDDEN, "viewers cannot draw")
    async with await join(room_server, "sketch-bad", name="Ann") as ann:
        wide = AddShape(id="w1", shape="rect", x=0, y=0, w=10, h=10, color="#1e1e1e", width=500)
        await ann.send(encode(Sketch(id="w1", shape=wide)))
        code, reason = await ann.wait_closed()
        assert (code, reason) == (CloseCode.LIMIT_EXCEEDED, "width 500.0 exceeds max_width 200.0")
    async with await join(room_server, "sketch-bad", name="Bob") as bob:
        await bob.send(encode(Sketch(id="x1", shape=box("x2"))))
        code, reason = await bob.wait_closed()
        assert (code, reason) == (CloseCode.MALFORMED, "sketch x1 shows shape x2")
