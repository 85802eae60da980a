"""One op as the persister reads it from the op log: decoded once, stored as a row, applied to a board."""

from __future__ import annotations

from typing import Any, cast

import msgspec
from nats.aio.msg import Msg

from drawnet.protocol import (
    AddImage,
    AddNote,
    AddShape,
    AddStroke,
    AddText,
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
from drawnet.protocol.messages import Color, Id, Opacity, PointList, Tool, Width


class _Record(msgspec.Struct, frozen=True):
    """An `OpRecord` with its op still as the bytes logged: they are what the `ops` table stores and what a
    snapshot copies, so the op is decoded once and never encoded again."""

    by: str
    op: msgspec.Raw
    ts: float


class _Stroke(msgspec.Struct, frozen=True, gc=False, tag="stroke", tag_field="kind"):
    """`AddStroke` with its points left as the JSON they were logged as.

    The persister never looks at points: the `ops` row and the snapshots copy the stroke's bytes. Parsing
    them cost ~10 us a stroke of 32 points (most of the decode), and keeping them as Python lists and tuples
    cost the boards' memory and the garbage collector's time. The op log is written only by rooms and by
    the import endpoint, which both validate every op in full before logging it.
    """

    id: Id
    tool: Tool
    color: Color
    width: Width
    opacity: Opacity
    pts: msgspec.Raw


_record = msgspec.json.Decoder(_Record)
_Logged = (
    (_Stroke | AddShape | AddText | AddNote | AddImage | Transform | Reorder | EditText | Erase | ClearBoard)
    | Undo
    | Redo
)
_op: msgspec.json.Decoder[_Logged] = msgspec.json.Decoder(_Logged)


def decode_op(body: bytes | msgspec.Raw) -> Op:
    """An op as logged, for the persister's boards: a stroke keeps its points as JSON (`_Stroke`)."""
    op = _op.decode(body)
    if not isinstance(op, _Stroke):
        return op
    # The points stay a Raw, which msgspec encodes verbatim: the stroke encodes exactly as logged.
    pts = cast("PointList", op.pts)
    return AddStroke(id=op.id, tool=op.tool, color=op.color, width=op.width, opacity=op.opacity, pts=pts)


class LoggedOp(msgspec.Struct, frozen=True):
    namespace: str
    session: str
    committed: Committed
    ts: float
    body: bytes
    """The op's JSON as logged: what the `ops` table stores."""

    @property
    def seq(self) -> int:
        return self.committed.seq

    def row(self) -> dict[str, Any]:
        """The values of its `ops` row (a plain dict: building ORM objects costs more than storing them)."""
        op = self.committed.op
        return {
            "seq": self.committed.seq,
            "namespace": self.namespace,
            "session": self.session,
            "op_id": op.id,
            "kind": op.__struct_config__.tag,
            "author": self.committed.by,
            "ts": self.ts,
            "body": self.body,
        }


def from_message(msg: Msg) -> LoggedOp:
    """The op in a message of the op log; ValueError or a msgspec error when it is not one."""
    _, _, namespace, session = msg.subject.split(".", 3)
    record = _record.decode(msg.data)
    committed = Committed(seq=msg.metadata.sequence.stream, by=record.by, op=decode_op(record.op))
    return LoggedOp(namespace, session, committed, record.ts, bytes(record.op))
