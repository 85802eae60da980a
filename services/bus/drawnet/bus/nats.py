"""Connecting to NATS and declaring the JetStream op log, the same way in every component."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from drawnet.protocol.subjects import OPS_STREAM, OPS_SUBJECTS

log = logging.getLogger(__name__)


class BusError(Exception):
    """NATS is unreachable or refused what we asked of it."""


def server_urls(url: str) -> list[str]:
    """The servers of a NATS URL setting: one URL, or several separated by commas (every server of a
    cluster, so that a client can start and go on while any one of them is down)."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise BusError(f"no NATS server in {url!r}")
    return servers


async def connect(url: str, name: str, *, connect_timeout: float = 2.0) -> Client:
    """A connection that reconnects forever: a NATS restart must never end a component.

    `url` may name several servers, comma-separated (a cluster): the client connects to any of them and
    moves to another when its server goes. The first connection must succeed (within `connect_timeout`
    per server), so a wrong URL fails start-up loudly.
    """

    async def on_disconnect() -> None:
        log.warning("NATS disconnected from %s", url)

    async def on_reconnect() -> None:
        log.info("NATS reconnected to %s", url)

    async def on_error(error: Exception) -> None:
        log.warning("NATS error: %s", error)

    client = Client()
    try:
        await client.connect(
            server_urls(url),
            name=name,
            connect_timeout=connect_timeout,  # type: ignore[arg-type] # annotated int, takes seconds as float
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,  # type: ignore[arg-type] # the same
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            error_cb=on_error,
        )
    except (OSError, NatsError) as error:
        raise BusError(f"cannot connect to NATS at {url}: {error}") from error
    except asyncio.CancelledError:
        # Cancelled while it retries (a room stopped while it waits for NATS): the client's own retry
        # task would go on for ever and keep the process from exiting.
        await client.close()
        raise
    return client


def ops_stream_config(
    *, duplicate_window_seconds: float, max_age_seconds: float = 0, replicas: int = 1
) -> StreamConfig:
    """The op log: every durable op of every session, on disk, deduplicated by op id (Nats-Msg-Id).

    `replicas`: copies on as many servers of a NATS cluster (3: an op is acknowledged once two of them
    hold it, and the log survives the loss of any one server)."""
    return StreamConfig(
        name=OPS_STREAM,
        subjects=[OPS_SUBJECTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=max_age_seconds,
        duplicate_window=duplicate_window_seconds,
        # Each op is acknowledged to its author only once it is stored; the log is the board.
        allow_direct=True,
        num_replicas=replicas,
    )


async def wait_for_ops_stream(js: JetStreamContext, *, interval: float = 0.5) -> None:
    """Return once the op log exists: for a component that leaves declaring it to the drawing service,
    which numbers it on from what SQL holds (`ensure_ops_stream`)."""
    said = False
    while True:
        try:
            await js.stream_info(OPS_STREAM)
        except (NatsError, TimeoutError) as error:  # not found yet, or NATS not answering
            if not said:
                log.warning(
                    "waiting for the drawing service to declare the %s stream (%s)", OPS_STREAM, error
                )
                said = True
            await asyncio.sleep(interval)
        else:
            return


async def ensure_ops_stream(
    js: JetStreamContext, *, duplicate_window_seconds: float, first_seq: int = 1, replicas: int | None = None
) -> None:
    """Declare the op-log stream, or bring an existing one to this configuration (idempotent).

    A stream made here numbers its first op `first_seq`. The drawing service passes one past the last seq
    SQL holds: SQL keys ops by seq, so a log that NATS lost (its storage gone) must go on numbering, not
    start again at 1, or its ops would collide with stored ones. An existing stream keeps its numbering.

    `replicas`: how many servers hold the log (None: one for a new stream, and an existing stream keeps
    its own: a room must not undo the drawing service's replication).
    """
    config = ops_stream_config(duplicate_window_seconds=duplicate_window_seconds, replicas=replicas or 1)
    try:
        try:
            await js.add_stream(dataclasses.replace(config, first_seq=first_seq) if first_seq > 1 else config)
        except BadRequestError:
            # Already there with other settings (another component or version declared it): update it.
            if replicas is None:
                existing = await js.stream_info(OPS_STREAM)
                config = dataclasses.replace(config, num_replicas=existing.config.num_replicas)
            await js.update_stream(config)
    except NatsError as error:
        raise BusError(f"cannot declare the {OPS_STREAM} stream: {error}") from error
