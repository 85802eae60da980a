"""One op as the persister reads it from the op log: decoded once, stored as a row, applied to a board."""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.msg import Msg

from drawnet.protocol import Committed, Op


class _Record(msgspec.Struct, frozen=True):
    """An `OpRecord` with its op still as the bytes logged: they are what the `ops` table stores and what a
    snapshot copies, so the op is decoded once and never encoded again."""

    by: str
    op: msgspec.Raw
    ts: float


_record = msgspec.json.Decoder(_Record)
_op = msgspec.json.Decoder(Op)


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
    committed = Committed(seq=msg.metadata.sequence.stream, by=record.by, op=_op.decode(record.op))
    return LoggedOp(namespace, session, committed, record.ts, bytes(record.op))
