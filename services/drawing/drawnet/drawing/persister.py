"""Moves every durable op from the op log (JetStream) into SQL, exactly once, in batches.

A durable pull consumer survives restarts of this service; an op is acknowledged to JetStream only after
its transaction committed, so a database outage loses nothing: the batch is retried until it is stored,
and JetStream keeps everything after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import metrics
from drawnet.drawing.db import insert_ops
from drawnet.drawing.models import OpRow
from drawnet.protocol import OPS_STREAM, decode_record, encode
from drawnet.protocol.subjects import OPS_SUBJECTS

log = logging.getLogger(__name__)

CONSUMER = "drawing-persister"


def row_from_message(msg: Msg) -> OpRow:
    _, _, namespace, session = msg.subject.split(".", 3)
    record = decode_record(msg.data)
    return OpRow(
        seq=msg.metadata.sequence.stream,
        namespace=namespace,
        session=session,
        op_id=record.op.id,
        kind=str(record.op.__struct_config__.tag),
        author=record.by,
        ts=record.ts,
        body=encode(record.op),
    )


class Persister:
    def __init__(
        self,
        js: JetStreamContext,
        engine: AsyncEngine,
        *,
        batch_size: int,
        fetch_timeout: float,
        retry_seconds: float,
    ) -> None:
        self._js = js
        self._engine = engine
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._retry_seconds = retry_seconds
        self.persisted_seq = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, then return from run() (within one fetch timeout)."""
        self._stopping.set()

    async def run(self) -> None:
        subscription = await self._js.pull_subscribe(
            OPS_SUBJECTS,
            durable=CONSUMER,
            stream=OPS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.ALL,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=-1,
                ack_wait=30,
            ),
        )
        try:
            # A flag, not task cancellation: nats-py turns a cancelled fetch into a TimeoutError.
            while not self._stopping.is_set():
                try:
                    messages = await subscription.fetch(self._batch_size, timeout=self._fetch_timeout)
                except (NatsTimeoutError, TimeoutError):
                    await self._update_lag(subscription)
                    continue
                except NatsError as error:
                    log.warning("fetching ops failed: %s", error)
                    await asyncio.sleep(self._retry_seconds)
                    continue
                rows = [row_from_message(msg) for msg in messages]
                if not await self._store(rows):
                    break  # stopping: the batch stays unacknowledged and is redelivered after a restart
                # AckPolicy.ALL: acknowledging the last message acknowledges the whole batch.
                await messages[-1].ack()
                self.persisted_seq = max(self.persisted_seq, rows[-1].seq)
                metrics.OPS_PERSISTED.inc(len(rows))
                await self._update_lag(subscription)
        finally:
            # Its inbox may hold expired-fetch notices nobody reads; left subscribed, they stall a drain.
            with contextlib.suppress(NatsError, TimeoutError):
                await subscription.unsubscribe()

    async def _store(self, rows: list[OpRow]) -> bool:
        """Write rows until the database takes them (True), or until asked to stop (False)."""
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                await insert_ops(self._engine, rows)
            except (SQLAlchemyError, OSError) as error:
                metrics.PERSIST_ERRORS.inc()
                log.warning("database refused %d ops (retrying): %s", len(rows), error)
                await asyncio.sleep(self._retry_seconds)
            else:
                metrics.PERSIST_BATCH_SECONDS.observe(time.perf_counter() - started)
                return True
        return False

    async def _update_lag(self, subscription: JetStreamContext.PullSubscription) -> None:
        try:
            info = await subscription.consumer_info()
        except (NatsError, TimeoutError):
            return
        metrics.CONSUMER_LAG.set(info.num_pending or 0)
