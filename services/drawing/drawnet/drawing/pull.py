"""Batches from a JetStream pull consumer, delivered to one subscription's callback.

nats-py's `PullSubscription.fetch()` waits for each message of a batch with `Subscription.next_msg()`,
which makes a uuid and two asyncio tasks per message: in bench/persistence that machinery was about a fifth
of the persister's time. `Puller` sends the same pull request (`$JS.API.CONSUMER.MSG.NEXT`) and collects
the messages in a plain callback, so a message costs nats-py's parsing and one append.

The protocol, as nats-py and the NATS server implement it: a request `{"batch": n, "expires": ns}` to the
consumer's next-message subject, with our inbox as the reply subject, is answered with up to n messages;
when it expires before n came, the server says so with a status message (408), and it sends a 409 when the
request cannot be served (the consumer was deleted, too many requests waiting…). Messages keep the stream's
order whichever request they answer, so a message that comes after its request was given up (a lost
connection, a late status) is kept for the next batch: nothing is dropped, nothing reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import Header

log = logging.getLogger(__name__)

GRACE_SECONDS = 1.0
"""How long after a request's expiry a batch waits for the server's word (the 408) before giving up."""
PENDING_BYTES_LIMIT = 256 * 1024 * 1024
"""What nats-py may hold for the subscription before it drops messages (a batch of 10,000 large ops fits)."""


class Puller:
    """Batches of one durable pull consumer; `fetch()` calls must not overlap."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._subscription: Subscription | None = None
        self._received: list[Msg] = []
        self._wanted = 0
        """Messages the latest request may still bring."""
        self._answered = asyncio.Event()
        self._lingering = False

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(
            self._inbox, cb=self._on_message, pending_msgs_limit=-1, pending_bytes_limit=PENDING_BYTES_LIMIT
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            with contextlib.suppress(Exception):  # a closed connection has nothing left to unsubscribe
                await subscription.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        headers = msg.headers or {}
        status = headers.get(Header.STATUS)
        if not status:
            self._received.append(msg)
            self._wanted -= 1
            if self._wanted <= 0 or self._lingering:
                self._answered.set()
        elif status != "100":  # not a heartbeat: the request is over (404 none, 408 expired, 409 refused)
            if status not in ("404", "408"):
                log.warning("pull request ended: %s %s", status, headers.get(Header.DESCRIPTION, ""))
            self._answered.set()

    async def _request(self, batch: int, timeout: float, *, no_wait: bool) -> None:
        """Ask for `batch` messages and wait for the answer: all of them or the server's status, or (a
        lingering request) the first message; at most `timeout` seconds and the grace."""
        self._wanted, self._lingering = batch, not no_wait
        self._answered.clear()
        request: dict[str, int | bool] = {"batch": batch}
        if no_wait:
            request["no_wait"] = True
        else:
            request["expires"] = int(timeout * 1e9)
        await self._nc.publish(self._subject, json.dumps(request).encode(), reply=self._inbox)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answered.wait(), timeout + GRACE_SECONDS)

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to `batch` messages: those the consumer has now, else the first to come within `timeout`
        seconds (empty when none came). Under load a batch is what arrived while the last one was stored."""
        if not self._received:
            await self._request(batch, timeout, no_wait=True)
        if not self._received:
            await self._request(batch, timeout, no_wait=False)
        messages, self._received = self._received[:batch], self._received[batch:]
        return messages
