"""The access stream: revocations from the drawing service to every room (`drawnet.protocol.access`)."""

from __future__ import annotations

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from drawnet.bus.nats import BusError
from drawnet.protocol.access import ACCESS_STREAM, ACCESS_SUBJECTS


def access_stream_config(*, keep_seconds: float, replicas: int = 1) -> StreamConfig:
    """Revocations, each kept `keep_seconds`: longer than any join token they may concern lives; on
    `replicas` servers of a NATS cluster (as many as the op log: it must outlive the loss of one)."""
    return StreamConfig(
        name=ACCESS_STREAM,
        subjects=[ACCESS_SUBJECTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=keep_seconds,
        num_replicas=replicas,
    )


async def ensure_access_stream(
    js: JetStreamContext, *, keep_seconds: float, update: bool, replicas: int = 1
) -> None:
    """Declare the access stream. `update`: bring an existing one to this configuration (the drawing
    service, which decides how long revocations are kept); otherwise leave an existing one as it is (a
    room, which only needs it to exist)."""
    config = access_stream_config(keep_seconds=keep_seconds, replicas=replicas)
    try:
        await js.add_stream(config)
    except BadRequestError:
        if update:
            try:
                await js.update_stream(config)
            except NatsError as error:
                raise BusError(f"cannot update the {ACCESS_STREAM} stream: {error}") from error
    except NatsError as error:
        raise BusError(f"cannot declare the {ACCESS_STREAM} stream: {error}") from error
