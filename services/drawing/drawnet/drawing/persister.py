"""Moves every durable op from the op log (JetStream) into SQL, exactly once, in batches.

A durable pull consumer survives restarts of this service; an op is acknowledged to JetStream only after
its transaction committed, so a database outage loses nothing: the batch is retried until it is stored,
and JetStream keeps everything after it. The same transaction writes the snapshots of the boards whose
snapshot fell due (`snapshots.BoardCache`), so a snapshot never claims an op that is not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import msgspec
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import metrics
from drawnet.drawing.db import insert_ops, save_snapshot
from drawnet.drawing.models import SnapshotRow
from drawnet.drawing.oplog import LoggedOp, from_message
from drawnet.drawing.snapshots import BoardCache
from drawnet.protocol import OPS_STREAM
from drawnet.protocol.subjects import OPS_SUBJECTS

log = logging.getLogger(__name__)

CONSUMER = "drawing-persister"
LAG_INTERVAL_SECONDS = 1.0
"""How often the consumer's lag is asked of JetStream while ops flow (one request each time)."""


def _logged(messages: list[Msg]) -> list[LoggedOp]:
    ops = []
    for msg in messages:
        try:
            ops.append(from_message(msg))
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as error:
            # Not an op record: nothing the room publishes. Storing it is impossible, retrying it forever
            # would stop every board: count it, log it, and let the batch's ack pass over it.
            metrics.POISON_MESSAGES.inc()
            log.error(  # noqa: TRY400 - the traceback says nothing the message does not
                "skipping op-log message %s on %s: %s", msg.metadata.sequence.stream, msg.subject, error
            )
    return ops


class Persister:
    def __init__(
        self,
        js: JetStreamContext,
        engine: AsyncEngine,
        *,
        batch_size: int,
        fetch_timeout: float,
        retry_seconds: float,
        boards: BoardCache,
    ) -> None:
        self._js = js
        self._engine = engine
        self._boards = boards
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._retry_seconds = retry_seconds
        self.persisted_seq = 0
        self._lag_updated = 0.0
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._stopping = asyncio.Event()
        self._progress = asyncio.Event()

    async def progressed(self, timeout: float) -> None:
        """Return when the next batch is stored, or after `timeout` seconds (whichever comes first)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)

    def _stored(self, seq: int) -> None:
        self.persisted_seq = max(self.persisted_seq, seq)
        # Wake whoever waits on this batch; the next waiters wait on a fresh event.
        progress, self._progress = self._progress, asyncio.Event()
        progress.set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from run() (within one fetch timeout)."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; an unexpected error restarts consumption (from the ack floor)."""
        while not self._stopping.is_set():
            try:
                await self._consume()
            except Exception:
                metrics.PERSISTER_RESTARTS.inc()
                log.exception("the persister failed; it resumes from the last acknowledged op")
                await asyncio.sleep(self._retry_seconds)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """The durable consumer, resuming right after the last op acknowledged.

        With AckPolicy.ALL an ack covers every op before it: ops a previous run fetched but never stored
        (a crash, a kill, a failed batch) would be acknowledged by the next batch's ack. So when the
        consumer delivered past its ack floor, it is made again from the ack floor (storing is idempotent,
        a redelivered op costs nothing). One persister per op log: the same consumer, read by two
        processes at once, would acknowledge each other's batches.
        """
        config = ConsumerConfig(
            durable_name=CONSUMER,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=-1,
            ack_wait=30,
        )
        try:
            info = await self._js.consumer_info(OPS_STREAM, CONSUMER)
        except NotFoundError:
            info = None
        if info is not None and info.delivered.stream_seq > info.ack_floor.stream_seq:
            floor = info.ack_floor.stream_seq
            log.warning(
                "ops after seq %d were fetched but not acknowledged: consuming again from there", floor
            )
            await self._js.delete_consumer(OPS_STREAM, CONSUMER)
            config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, floor + 1
        return await self._js.pull_subscribe(OPS_SUBJECTS, durable=CONSUMER, stream=OPS_STREAM, config=config)

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> list[Msg] | None:
        """A batch, or None when none came within the fetch timeout."""
        try:
            return await subscription.fetch(self._batch_size, timeout=self._fetch_timeout)
        except (NatsTimeoutError, TimeoutError):
            return None

    async def _consume(self) -> None:
        subscription = self._subscription = await self._subscribe()
        # One fetch always in flight: the next batch travels from JetStream while this one is stored.
        # (Acks stay in order: a batch is acknowledged after it is stored, and batches are stored in turn.)
        next_batch = asyncio.ensure_future(self._fetch(subscription))
        try:
            # A flag, not task cancellation: nats-py turns a cancelled fetch into a TimeoutError.
            while not self._stopping.is_set():
                try:
                    messages = await next_batch
                except NatsError as error:
                    log.warning("fetching ops failed: %s", error)
                    await asyncio.sleep(self._retry_seconds)
                    messages = []
                next_batch = asyncio.ensure_future(self._fetch(subscription))
                if messages is None:  # quiet: a moment for the lag and for snapshots that fell due
                    await self._update_lag(subscription)
                    if (due := self._boards.due()) and not await self._store([], due):
                        return
                    continue
                if not messages:
                    continue
                rows = _logged(messages)
                if not await self._store(rows):
                    return  # stopping: the batch stays unacknowledged and is consumed again after a restart
                # AckPolicy.ALL: acknowledging the last message acknowledges the whole batch.
                await messages[-1].ack()
                self._stored(messages[-1].metadata.sequence.stream)
                metrics.OPS_PERSISTED.inc(len(rows))
                metrics.PERSISTED_SEQ.set(self.persisted_seq)
                if time.monotonic() - self._lag_updated >= LAG_INTERVAL_SECONDS:
                    await self._update_lag(subscription)
        finally:
            next_batch.cancel()
            with contextlib.suppress(NatsError, TimeoutError, asyncio.CancelledError):
                await next_batch
            # Its inbox may hold expired-fetch notices nobody reads; left subscribed, they stall a drain.
            with contextlib.suppress(NatsError, TimeoutError):
                await subscription.unsubscribe()

    async def _store(self, rows: list[LoggedOp], due: list[SnapshotRow] | None = None) -> bool:
        """Write rows (and the snapshots due) until the database takes them (True), or until asked to stop
        (False)."""
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                snapshots = await self._boards.absorb(rows) if due is None else due
                async with self._engine.begin() as conn:
                    await insert_ops(conn, [row.row() for row in rows])
                    for snapshot in snapshots:
                        await save_snapshot(conn, snapshot)
            except (SQLAlchemyError, OSError) as error:
                metrics.PERSIST_ERRORS.inc()
                log.warning("database refused %d ops (retrying): %s", len(rows), error)
                await self._update_lag()  # the lag is what an outage shows first
                await asyncio.sleep(self._retry_seconds)
            else:
                self._boards.saved(snapshots)
                metrics.SNAPSHOTS_WRITTEN.inc(len(snapshots))
                metrics.PERSIST_BATCH_SECONDS.observe(time.perf_counter() - started)
                return True
        return False

    async def _update_lag(self, subscription: JetStreamContext.PullSubscription | None = None) -> None:
        """Ops logged and not yet stored: not yet delivered to us, or delivered and not acknowledged."""
        subscription = subscription or self._subscription
        if subscription is None:
            return
        self._lag_updated = time.monotonic()
        try:
            info = await subscription.consumer_info()
        except (NatsError, TimeoutError):
            return
        metrics.CONSUMER_LAG.set((info.num_pending or 0) + (info.num_ack_pending or 0))
