"""One live session inside a room: its board (caught up from the op log), its participants, its topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from drawnet.protocol import OPS_STREAM, Board, Committed, Participant, decode_record, encode, ops_subject
from drawnet.room import metrics

log = logging.getLogger(__name__)

OnCommitted = Callable[["LiveSession", Committed, bytes], None]
"""Called with each op newly applied to the board, and its encoded frame, in sequence order."""


class LiveSession:
    """A session this room hosts: the board follows the op log; committed ops fan out to the topic."""

    def __init__(self, js: JetStreamContext, namespace: str, name: str, on_committed: OnCommitted) -> None:
        self.name = name
        self.topic = f"s/{name}"
        self.subject = ops_subject(namespace, name)
        self.board = Board()
        self.participants: dict[str, Participant] = {}
        self._js = js
        self._on_committed = on_committed
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._loaded = asyncio.Event()
        self._target_seq = 0

    async def load(self) -> None:
        """Follow the op log from its start; return once the board holds everything logged so far."""
        try:
            last = await self._js.get_last_msg(OPS_STREAM, self.subject)
            self._target_seq = last.seq or 0
        except NotFoundError:
            self._target_seq = 0
        self._subscription = await self._js.subscribe(
            self.subject,
            cb=self._on_op,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        if self.board.seq >= self._target_seq:
            self._loaded.set()
        await self._loaded.wait()
        metrics.SESSIONS.inc()
        log.info("session %s loaded: %d strokes at seq %d", self.name, len(self.board), self.board.seq)

    async def _on_op(self, msg: Msg) -> None:
        record = decode_record(msg.data)
        committed = Committed(seq=msg.metadata.sequence.stream, by=record.by, op=record.op)
        if self.board.apply(committed):
            self._on_committed(self, committed, encode(committed))
        if not self._loaded.is_set() and self.board.seq >= self._target_seq:
            self._loaded.set()

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            metrics.SESSIONS.dec()
