"""Writing to the op log as a room does, for tests that feed the drawing service without a room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import nats

from drawnet.protocol import Op, OpRecord, encode, ops_subject


async def log_ops(
    nats_url: str,
    session: str,
    ops: Sequence[Op],
    *,
    by: str = "tester",
    msg_id_suffix: str = "",
    namespace: str = "default",
) -> list[int]:
    """Log `ops` to the session's subject in JetStream, deduplicated by `Nats-Msg-Id` as the room does
    (session/op id, plus `msg_id_suffix` to log an op again under another id); their sequence numbers."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        pending = [
            await js.publish_async(
                ops_subject(namespace, session),
                encode(OpRecord(by=by, op=op, ts=time.time())),
                headers={"Nats-Msg-Id": f"{session}/{op.id}{msg_id_suffix}"},
            )
            for op in ops
        ]
        return [ack.seq for ack in await asyncio.gather(*pending)]
    finally:
        await nc.close()
