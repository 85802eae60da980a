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
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import metrics
from drawnet.drawing.db import SnapshotWrite, insert_ops, save_snapshot
from drawnet.drawing.oplog import LoggedOp, from_message
from drawnet.drawing.pull import Puller
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


class ResumeError(Exception):
    """A reason to end the run and consume again from the last acknowledged op (`Persister._subscribe`)."""


class DeliveryGapError(ResumeError):
    """The consumer delivered an op that never reached this persister."""


class ConsumerGoneError(ResumeError):
    """The durable consumer no longer exists: deleted by hand, or lost with NATS's state. Fetching from
    it would get nothing, for ever."""


def _contiguous(messages: list[Msg], expected: int) -> int:
    """The consumer sequence after `messages`; DeliveryGapError when they skip one.

    Each delivery, a redelivery too, takes the consumer's next sequence number. A delivery can be lost on
    its way: the connection drops with messages in flight, or a pull request of an earlier run is still
    being answered into an inbox nobody reads. The consumer counts it as delivered, and with AckPolicy.ALL
    the ack of any later op would acknowledge it, never stored. So a gap ends the run, before anything
    after it is stored or acknowledged: the next run consumes again from the ack floor (`_subscribe`).
    A NATS server that crashed can also come back with an older delivery sequence (it will deliver again
    what it forgot): the same restart handles that.
    """
    for msg in messages:
        seq = msg.metadata.sequence.consumer
        if seq != expected:
            gap = f"the op log's consumer sent delivery {seq} where {expected} was next"
            raise DeliveryGapError(gap)
        expected = seq + 1
    return expected


class Persister:
    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        engine: AsyncEngine,
        *,
        batch_size: int,
        fetch_timeout: float,
        retry_seconds: float,
        boards: BoardCache,
        declare_log: Callable[[], Awaitable[None]],
    ) -> None:
        self._nc = nc
        self._js = js
        self._engine = engine
        self._boards = boards
        self._declare_log = declare_log
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._retry_seconds = retry_seconds
        self.persisted_seq = 0
        self._lag_updated = 0.0
        self._consuming = False
        self._writing: asyncio.Future[bool] | None = None
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

    def reset(self) -> None:
        """After a stop: run() may be called again (a persister that lost its lease and won it back)."""
        self._stopping.clear()
        self._boards.clear()

    async def run(self) -> None:
        """Consume until stopped; an unexpected error restarts consumption (from the ack floor)."""
        while not self._stopping.is_set():
            try:
                await self._consume()
            except ResumeError as why:
                self._boards.clear()
                metrics.PERSISTER_RESTARTS.inc()
                log.warning("%s: consuming again from the last acknowledged op", why)
                await asyncio.sleep(self._retry_seconds)
            except Exception:
                # Snapshots handed to a write that never committed count as written: forget the boards,
                # they reload from SQL as stored.
                self._boards.clear()
                metrics.PERSISTER_RESTARTS.inc()
                log.exception("the persister failed; it resumes from the last acknowledged op")
                await asyncio.sleep(self._retry_seconds)

    async def _subscribe(self) -> tuple[Puller, int]:
        """The durable consumer, resuming right after the last op acknowledged, and the consumer sequence
        of its next delivery.

        With AckPolicy.ALL an ack covers every op before it: ops a previous run fetched but never stored
        (a crash, a kill, a failed batch) would be acknowledged by the next batch's ack. So when the
        consumer delivered past its ack floor, it is made again from the ack floor (storing is idempotent,
        a redelivered op costs nothing). A consumer that is gone is made again from the start of the log
        (ConsumerGoneError). One persister per op log: the same consumer, read by two processes at once,
        would acknowledge each other's batches.
        """
        config = ConsumerConfig(
            name=CONSUMER,
            durable_name=CONSUMER,
            filter_subject=OPS_SUBJECTS,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=-1,
            ack_wait=30,
        )
        try:
            info = await self._js.consumer_info(OPS_STREAM, CONSUMER)
        except NotFoundError:
            # The log itself may be gone with NATS's state: declared again, numbered on (app.py).
            await self._declare_log()
            info = None
        if info is not None and info.delivered.stream_seq > info.ack_floor.stream_seq:
            floor = info.ack_floor.stream_seq
            log.warning(
                "ops after seq %d were fetched but not acknowledged: consuming again from there", floor
            )
            await self._js.delete_consumer(OPS_STREAM, CONSUMER)
            config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, floor + 1
            info = None
        if info is None:
            info = await self._js.add_consumer(OPS_STREAM, config)
        puller = Puller(self._nc, OPS_STREAM, CONSUMER)
        await puller.start()
        return puller, (info.delivered.consumer_seq or 0) + 1

    async def _fetch(self, puller: Puller) -> list[Msg] | None:
        """A batch, or None when none came within the fetch timeout."""
        return await puller.fetch(self._batch_size, self._fetch_timeout) or None

    async def _consume(self) -> None:
        """Fetch, prepare and write batches, three at a time in flight.

        While batch N is written (and its transaction waits for PostgreSQL's fsync), batch N+1 is decoded
        and applied to its boards, and batch N+2 travels from JetStream. Writes stay one at a time and in
        order, and a batch is acknowledged once it is committed, so acks stay in order.
        """
        puller, expected = await self._subscribe()
        self._consuming = True
        next_batch = asyncio.ensure_future(self._fetch(puller))
        try:
            # A flag, not task cancellation: a batch in hand is finished before stopping.
            while not self._stopping.is_set():
                try:
                    messages = await next_batch
                except NatsError as error:
                    log.warning("fetching ops failed: %s", error)
                    await asyncio.sleep(self._retry_seconds)
                    messages = []
                next_batch = asyncio.ensure_future(self._fetch(puller))
                if messages is None:  # quiet: a moment for the lag and for snapshots that fell due
                    await self._update_lag()
                    if not await self._written():
                        return
                    if (due := self._boards.take_due()) and not await self._write([], due, None):
                        return
                    continue
                if not messages:
                    continue
                expected = _contiguous(messages, expected)
                rows = _logged(messages)
                # A board loaded from SQL must hold every op before this batch: first the write in flight.
                if self._boards.missing(rows) and not await self._written():
                    return
                snapshots = await self._absorb(rows)
                if snapshots is None or not await self._written():
                    return  # stopping: the batch stays unacknowledged and is consumed again after a restart
                self._writing = asyncio.ensure_future(self._write(rows, snapshots, messages[-1]))
        finally:
            try:
                await self._written()  # the batch in hand is stored (or given up, when stopping in an outage)
            finally:
                next_batch.cancel()
                with contextlib.suppress(NatsError, TimeoutError, asyncio.CancelledError):
                    await next_batch
                self._consuming = False
                await puller.stop()

    async def _written(self) -> bool:
        """Wait for the write in flight: False when it gave up (asked to stop during an outage)."""
        writing, self._writing = self._writing, None
        return writing is None or await writing

    async def _absorb(self, rows: list[LoggedOp]) -> list[SnapshotWrite] | None:
        """Apply rows to their boards (loading boards from SQL as needed): the snapshots now due; None when
        asked to stop while the database refuses."""
        while not self._stopping.is_set():
            try:
                return await self._boards.absorb(rows)
            except (SQLAlchemyError, OSError) as error:
                metrics.PERSIST_ERRORS.inc()
                log.warning("database refused to load boards (retrying): %s", error)
                await self._update_lag()
                await asyncio.sleep(self._retry_seconds)
        return None

    async def _write(self, rows: list[LoggedOp], snapshots: list[SnapshotWrite], last: Msg | None) -> bool:
        """Store a batch and acknowledge it: True once done, False when asked to stop before."""
        if not await self._store(rows, snapshots):
            return False
        if last is not None:
            # AckPolicy.ALL: acknowledging the last message acknowledges the whole batch.
            await last.ack()
            self._stored(last.metadata.sequence.stream)
            metrics.OPS_PERSISTED.inc(len(rows))
            metrics.PERSISTED_SEQ.set(self.persisted_seq)
        if time.monotonic() - self._lag_updated >= LAG_INTERVAL_SECONDS:
            await self._update_lag()
        return True

    async def _store(self, rows: list[LoggedOp], snapshots: list[SnapshotWrite]) -> bool:
        """Write rows and snapshots until the database takes them (True), or until asked to stop (False)."""
        values = [row.row() for row in rows]
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                async with self._engine.begin() as conn:
                    await insert_ops(conn, values)
                    taken: list[SnapshotWrite] = []
                    moot: list[SnapshotWrite] = []
                    for snapshot in snapshots:
                        (taken if await save_snapshot(conn, snapshot) else moot).append(snapshot)
            except (SQLAlchemyError, OSError) as error:
                metrics.PERSIST_ERRORS.inc()
                log.warning("database refused %d ops (retrying): %s", len(rows), error)
                await self._update_lag()  # the lag is what an outage shows first
                await asyncio.sleep(self._retry_seconds)
            else:
                self._boards.moot(moot)
                metrics.SNAPSHOTS_WRITTEN.inc(len(taken))
                metrics.SNAPSHOT_BYTES_WRITTEN.inc(sum(snapshot.size for snapshot in taken))
                metrics.PERSIST_BATCH_SECONDS.observe(time.perf_counter() - started)
                return True
        return False

    async def _update_lag(self) -> None:
        """Ops logged and not yet stored: not yet delivered to us, or delivered and not acknowledged.
        ConsumerGoneError when the consumer is gone (this is asked whenever a fetch comes back empty)."""
        if not self._consuming:
            return
        self._lag_updated = time.monotonic()
        try:
            info = await self._js.consumer_info(OPS_STREAM, CONSUMER)
        except NotFoundError as error:
            gone = f"the consumer {CONSUMER} of {OPS_STREAM} is gone ({error.description})"
            raise ConsumerGoneError(gone) from error
        except (NatsError, TimeoutError):
            return
        metrics.CONSUMER_LAG.set((info.num_pending or 0) + (info.num_ack_pending or 0))
