"""One op as the persister reads it from the op log: decoded once, stored as a row, applied to a board."""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.msg import Msg

from drawnet.protocol import Committed, decode_record, encode


class LoggedOp(msgspec.Struct, frozen=True):
    namespace: str
    session: str
    committed: Committed
    ts: float
    body: bytes
    """The op as the protocol encodes it: what the `ops` table stores."""

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
    record = decode_record(msg.data)
    committed = Committed(seq=msg.metadata.sequence.stream, by=record.by, op=record.op)
    return LoggedOp(namespace, session, committed, record.ts, encode(record.op))
