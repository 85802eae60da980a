"""The board's rules are written twice, in `drawnet.protocol.Board` and in `frontend/js/board.js`; this test
keeps them equal. Hypothesis makes random op sequences (adds of every kind, images too, transforms,
reorders to the front, the back, forward and backward, text edits, erases, clears, undos and redos by
several users resolved the way the room resolves them, stale undos, resends of ops already applied, a
late joiner's snapshot halfway) and both boards apply the same committed ops: their visible items in
stacking order (with transforms and edited texts, float for float), their whole states (every item in
order, hidden ones too, and the undo history) and every author's undo and redo targets must be identical.

board.js runs under node (the same `node` as `node --test tests/frontend/`), one process for the module,
fed one sequence per line by `tests/frontend/conformance/board-runner.mjs`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drawnet.protocol import (
    AddImage,
    AddNote,
    AddShape,
    AddStroke,
    AddText,
    Board,
    ClearBoard,
    Committed,
    EditText,
    Erase,
    Op,
    Redo,
    Reorder,
    Transform,
    Undo,
)
from drawnet.protocol.board import invertible
from drawnet.protocol.messages import Place

RUNNER = Path(__file__).parents[1] / "frontend" / "conformance" / "board-runner.mjs"
AUTHORS = ["u1", "u2", "guest:3"]
ACTIONS = [
    "add",
    "add",
    "add",
    "transform",
    "transform",
    "reorder",
    "reorder",
    "edit",
    "erase",
    "clear",
    "undo",
    "redo",
    "undo",
    "resend",
]
"""What the next op does (adds, transforms, reorders and undos more often than the rest)."""

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


class Node:
    """board.js in a node process: one sequence in, what it built out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, ops: list[Committed], snapshot_at: int | None) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request = {"ops": msgspec.to_builtins(ops), "snapshot_at": snapshot_at, "authors": AUTHORS}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    runner = Node()
    yield runner
    runner.close()


# ------------------------------------------------------------------------------------- op sequences

coordinate = st.floats(-5000, 5000, allow_nan=False).map(lambda v: round(v, 3))
text = st.text(st.characters(codec="utf-8"), max_size=12)
color = st.sampled_from(["#1e1e1e", "#e03131", "#1971c2", "#ffec99"])
factor = st.floats(-3, 3, allow_nan=False)
matrix = st.one_of(
    st.tuples(coordinate, coordinate).map(lambda t: (1.0, 0.0, 0.0, 1.0, t[0], t[1])),
    st.tuples(factor, factor, factor, factor, coordinate, coordinate),
).filter(invertible)


@st.composite
def item_op(draw: st.DrawFn, op_id: str) -> Op:
    kind = draw(st.sampled_from(["stroke", "shape", "text", "note", "image"]))
    x, y = draw(coordinate), draw(coordinate)
    if kind == "stroke":
        pts = draw(
            st.lists(st.tuples(coordinate, coordinate, st.sampled_from([0.5, 1.0])), min_size=1, max_size=4)
        )
        return AddStroke(
            id=op_id,
            tool="pen",
            color=draw(color),
            width=draw(st.sampled_from([1.0, 4.0])),
            opacity=1.0,
            pts=pts,
        )
    if kind == "shape":
        return AddShape(
            id=op_id,
            shape=draw(st.sampled_from(["rect", "ellipse", "diamond", "arrow", "line"])),
            x=x,
            y=y,
            w=draw(coordinate),
            h=draw(coordinate),
            color=draw(color),
            width=2.0,
            fill=draw(st.none() | color),
            end_head=draw(st.booleans()),
        )
    if kind == "text":
        return AddText(id=op_id, x=x, y=y, text=draw(text.filter(bool)), size=24.0, color=draw(color))
    if kind == "image":
        side = st.floats(1, 4000, allow_nan=False).map(lambda v: round(v, 3))
        digest = draw(st.sampled_from(["a" * 64, "0123456789abcdef" * 4]))
        return AddImage(id=op_id, image=digest, x=x, y=y, w=draw(side), h=draw(side))
    return AddNote(id=op_id, x=x, y=y, w=200.0, text=draw(text), size=20.0, fill="#ffec99")


@st.composite
def sequences(draw: st.DrawFn) -> tuple[list[Committed], int | None]:
    """Committed ops as a room would log them: undo and redo targets resolved from the board so far."""
    room = Board()
    log: list[Committed] = []
    seq = 0
    for n in range(draw(st.integers(1, 40))):
        author = draw(st.sampled_from(AUTHORS))
        items = [item.id for item in room.strokes] or ["nothing"]
        action = draw(st.sampled_from(ACTIONS))
        op_id = f"op{n}"
        op: Op
        if action == "resend" and log:
            again = draw(st.sampled_from(log))
            seq += draw(st.integers(0, 3))  # the same seq, or a later one: either way applied once
            committed = Committed(seq=max(seq, again.seq), by=again.by, op=again.op)
            room.apply(committed)
            log.append(committed)
            continue
        if action == "transform":
            named = draw(st.lists(st.sampled_from(items), min_size=1, max_size=3))
            op = Transform(id=op_id, items=named, m=draw(matrix))
        elif action == "reorder":
            named = draw(st.lists(st.sampled_from(items), min_size=1, max_size=4))
            place: Place = draw(st.sampled_from(["front", "back", "forward", "backward"]))
            op = Reorder(id=op_id, items=named, to=place)
        elif action == "edit":
            op = EditText(id=op_id, item=draw(st.sampled_from(items)), text=draw(text))
        elif action == "erase":
            op = Erase(id=op_id, strokes=draw(st.lists(st.sampled_from(items), min_size=1, max_size=3)))
        elif action == "clear":
            op = ClearBoard(id=op_id)
        elif action in {"undo", "redo"}:
            target = room.undo_target(author) if action == "undo" else room.redo_target(author)
            if target is None or draw(st.integers(0, 9)) == 0:
                target = draw(st.sampled_from([*items, "op0"]))  # stale: the board must ignore it
            op = Undo(id=op_id, target=target) if action == "undo" else Redo(id=op_id, target=target)
        else:
            op = draw(item_op(op_id))
        seq += draw(st.integers(1, 3))
        committed = Committed(seq=seq, by=author, op=op)
        room.apply(committed)
        log.append(committed)
    snapshot_at = draw(st.none() | st.integers(0, len(log)))
    return log, snapshot_at


def as_json(value: object) -> Any:
    """What JSON makes of it (tuples become lists), as board.js's side comes."""
    return json.loads(msgspec.json.encode(value))


def python_board(ops: list[Committed], snapshot_at: int | None) -> tuple[Board, list[bool]]:
    board = Board()
    applied = []
    for i, committed in enumerate(ops):
        if i == snapshot_at:
            state = msgspec.json.decode(msgspec.json.encode(board.state()), type=type(board.state()))
            board = Board.from_state(state)
        applied.append(board.apply(committed))
    return board, applied


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequences())
def test_the_python_board_and_board_js_build_the_same_board(
    node: Node, sequence: tuple[list[Committed], int | None]
) -> None:
    ops, snapshot_at = sequence
    board, applied = python_board(ops, snapshot_at)
    built = node.run(ops, snapshot_at)
    assert built["applied"] == applied
    assert built["size"] == len(board)
    assert built["placed"] == as_json(board.placed())
    assert built["state"] == as_json(board.state())
    assert built["targets"] == {a: [board.undo_target(a), board.redo_target(a)] for a in AUTHORS}
