"""The persister's batched pull (`drawnet.drawing.pull.Puller`) against a real JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from drawnet.drawing.pull import Puller
from drawnet.embedded.components import NatsServer

pytestmark = pytest.mark.integration

STREAM, CONSUMER = "PULLTEST", "reader"


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["pull.>"]))
    await js.add_consumer(
        STREAM, ConsumerConfig(durable_name=CONSUMER, ack_policy=AckPolicy.ALL, max_ack_pending=-1)
    )
    yield client
    await client.close()


async def publish(nc: Client, first: int, count: int) -> None:
    js = nc.jetstream()
    for i in range(first, first + count):
        await js.publish(f"pull.{i % 3}", str(i).encode())


def numbers(messages: list[Msg]) -> list[int]:
    return [int(msg.data) for msg in messages]


async def test_batches_come_whole_in_stream_order_and_the_rest_waits(nc: Client) -> None:
    await publish(nc, 0, 25)
    puller = Puller(nc, STREAM, CONSUMER)
    await puller.start()
    try:
        assert numbers(await puller.fetch(10, timeout=5)) == list(range(10))
        assert numbers(await puller.fetch(10, timeout=5)) == list(range(10, 20))
        assert numbers(await puller.fetch(10, timeout=5)) == list(range(20, 25))  # what there is, at once
    finally:
        await puller.stop()


async def test_a_quiet_stream_gives_an_empty_batch_then_the_next_op_as_soon_as_it_comes(nc: Client) -> None:
    puller = Puller(nc, STREAM, CONSUMER)
    await puller.start()
    try:
        assert await puller.fetch(10, timeout=0.2) == []
        fetching = asyncio.ensure_future(puller.fetch(10, timeout=60))
        await publish(nc, 100, 1)
        # One op, long before the request's 60 s expiry: a quiet board's op is stored at once.
        assert numbers(await asyncio.wait_for(fetching, 10)) == [100]
    finally:
        await puller.stop()


async def test_acknowledging_a_batch_moves_the_consumer_past_it(nc: Client) -> None:
    await publish(nc, 0, 5)
    puller = Puller(nc, STREAM, CONSUMER)
    await puller.start()
    try:
        batch = await puller.fetch(5, timeout=5)
        await batch[-1].ack_sync()
        info = await nc.jetstream().consumer_info(STREAM, CONSUMER)
        assert (info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending) == (5, 0, 0)
    finally:
        await puller.stop()
