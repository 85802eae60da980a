"""A board: the state that the ordered log of durable ops builds, the same wherever it is built.

The room, the drawing service, the browser (`frontend/js/board.js`) and the tests all apply committed ops
in sequence order with these rules, so after quiescence they all reach the same `state_hash()`.
Applying is idempotent per op id (exactly once) and monotonic in seq (an op at or below the board's seq
is already in it).
"""

from __future__ import annotations

import hashlib

import msgspec

from drawnet.protocol.messages import AddStroke, ClearBoard, Committed, Erase, Op

Stroke = AddStroke
"""A stroke on the board is the op that added it."""

_hash_encoder = msgspec.json.Encoder(order="deterministic")


class Board:
    """The strokes of one session in the order they were committed."""

    __slots__ = ("_op_seqs", "_strokes", "seq")

    def __init__(self) -> None:
        self.seq = 0
        self._strokes: dict[str, Stroke] = {}
        self._op_seqs: dict[str, int] = {}

    @classmethod
    def from_snapshot(cls, seq: int, strokes: list[Stroke]) -> Board:
        """The board a welcome's snapshot describes: these strokes, at `seq`."""
        board = cls()
        board.seq = seq
        board._strokes = {stroke.id: stroke for stroke in strokes}
        return board

    def apply(self, committed: Committed) -> bool:
        """Apply one committed op; False when it was already applied (same seq or same op id)."""
        op = committed.op
        if committed.seq <= self.seq or op.id in self._op_seqs or op.id in self._strokes:
            self.seq = max(self.seq, committed.seq)
            return False
        self.seq = committed.seq
        self._op_seqs[op.id] = committed.seq
        _apply_op(self._strokes, op)
        return True

    def seq_of(self, op_id: str) -> int | None:
        """The sequence number at which the op `op_id` was applied, if it was."""
        return self._op_seqs.get(op_id)

    @property
    def strokes(self) -> list[Stroke]:
        return list(self._strokes.values())

    def __len__(self) -> int:
        return len(self._strokes)

    def state_hash(self) -> str:
        """A digest of the visible board (strokes in order), equal wherever the same ops were applied."""
        return hashlib.sha256(_hash_encoder.encode(list(self._strokes.values()))).hexdigest()


def _apply_op(strokes: dict[str, Stroke], op: Op) -> None:
    match op:
        case AddStroke():
            strokes[op.id] = op
        case Erase(strokes=targets):
            for target in targets:
                strokes.pop(target, None)
        case ClearBoard():
            strokes.clear()
