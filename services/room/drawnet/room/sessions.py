"""One live session inside a room: its board (caught up from the op log), its participants, its topics."""

from __future__ import annotations

import asyncio
import gc
import logging
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import msgspec
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from drawnet.protocol import (
    OPS_STREAM,
    Board,
    BoardState,
    Committed,
    Participant,
    decode_record,
    encode,
    ops_subject,
)

log = logging.getLogger(__name__)

RECENT_OPS = 2_000
"""Committed ops a session keeps in memory, so a reconnecting client gets a tail instead of the board."""

OnCommitted = Callable[["LiveSession", Committed, bytes], None]
"""Called with each op newly applied to the board, and its encoded frame, in sequence order."""


class StoredSnapshot(BoardState, frozen=True):
    """The drawing service's snapshot: a board state and the latest op ids it applied."""

    recent: dict[str, int] = msgspec.field(default_factory=dict)


_state_decoder = msgspec.json.Decoder(StoredSnapshot)


class LiveSession:
    """A session this room hosts: the board follows the op log; committed ops fan out to the topic."""

    def __init__(self, js: JetStreamContext, namespace: str, name: str, on_committed: OnCommitted) -> None:
        self.name = name
        self.ops_topic = f"o/{name}".encode()
        """Committed ops and presence: every participant gets every frame (or is closed)."""
        self.live_topic = f"l/{name}".encode()
        """Live traffic: slow participants are unsubscribed from it until they catch up."""
        self.subject = ops_subject(namespace, name)
        self.board = Board()
        self.recent: deque[Committed] = deque(maxlen=RECENT_OPS)
        self.participants: dict[str, Participant] = {}
        """Everyone in the session: this room's connections and those relayed from other replicas."""
        self.local = 0
        self.idle_timeout = 0
        """The session's own idle timeout, as its latest admitted token says (0: none)."""
        """Participants connected to this room."""
        self.last_activity = 0.0
        self.loaded_from_snapshot = False
        self.replayed = 0
        """Ops applied from the op log while loading (after the snapshot, if there was one)."""
        self._js = js
        self._on_committed = on_committed
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._loaded = asyncio.Event()
        self._target_seq = 0
        self._snapshot: tuple[int, bytes] | None = None
        self._tail_from = 0
        """`recent` holds every op after this seq."""

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    async def load(self, snapshot_url: str | None) -> None:
        """Start from the drawing service's snapshot (if any), then follow the op log from there.

        Returns once the board holds everything logged so far.
        """
        if snapshot_url is not None:
            body = await _fetch_snapshot(snapshot_url)
            state = _decode_snapshot(snapshot_url, body) if body is not None else None
            if state is not None:
                with _no_gc():
                    self.board = Board.from_state(state)
                self.board.remember(state.recent)
                self.loaded_from_snapshot = True
        try:
            last = await self._js.get_last_msg(OPS_STREAM, self.subject)
            self._target_seq = last.seq or 0
        except NotFoundError:
            self._target_seq = 0
        self._tail_from = self.board.seq
        start = (
            ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.board.seq + 1)
            if self.board.seq
            else ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        self._subscription = await self._js.subscribe(
            self.subject, cb=self._on_op, ordered_consumer=True, config=start
        )
        if self.board.seq >= self._target_seq:
            self._loaded.set()
        await self._loaded.wait()
        # The board's objects live as long as the session: later collections need not walk them again.
        gc.freeze()
        log.info("session %s loaded: %d strokes at seq %d", self.name, len(self.board), self.board.seq)

    async def _on_op(self, msg: Msg) -> None:
        record = decode_record(msg.data)
        committed = Committed(seq=msg.metadata.sequence.stream, by=record.by, op=record.op)
        if self.board.apply(committed):
            if not self._loaded.is_set():
                self.replayed += 1
            if len(self.recent) == self.recent.maxlen:
                self._tail_from = self.recent[0].seq
            self.recent.append(committed)
            self.last_activity = record.ts
            self._on_committed(self, committed, encode(committed))
        if not self._loaded.is_set() and self.board.seq >= self._target_seq:
            self._loaded.set()

    def snapshot_frame(self) -> bytes:
        """The board's state, encoded once per sequence number however many clients join."""
        if self._snapshot is None or self._snapshot[0] != self.board.seq:
            self._snapshot = (self.board.seq, encode(self.board.state()))
        return self._snapshot[1]

    def tail_since(self, since: int) -> list[Committed] | None:
        """The committed ops after `since`, if this session still holds them all (None: send a snapshot)."""
        if since <= 0 or since < self._tail_from:
            return None
        return [committed for committed in self.recent if committed.seq > since]

    async def close(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except NatsError as error:
                log.debug("unsubscribing %s: %s", self.name, error)


SNAPSHOT_TIMEOUT_SECONDS = 5.0
"""How long a room waits for the drawing service's snapshot before replaying the op log instead."""


async def _fetch_snapshot(url: str) -> bytes | None:
    """The drawing service's snapshot of a board (its JSON), or None when it has none or cannot be reached.

    The standard library's client, in a thread: the room makes this one request per session it loads, and
    an HTTP client library would only add to the room's start (httpx's import alone took 0.15 s)."""
    try:
        return await asyncio.to_thread(_get, url)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            log.warning("no snapshot from %s (HTTP %d): replaying the op log", url, error.code)
        return None
    except (OSError, ValueError) as error:
        log.warning("no snapshot from %s (%s): replaying the op log", url, error)
        return None


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=SNAPSHOT_TIMEOUT_SECONDS) as response:  # noqa: S310 - our URL
        body: bytes = response.read()
        return body


def _decode_snapshot(url: str, body: bytes) -> StoredSnapshot | None:
    try:
        with _no_gc():
            return _state_decoder.decode(body)
    except msgspec.DecodeError as error:
        log.warning("bad snapshot from %s (%s): replaying the op log", url, error)
        return None


@contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection while a board's objects are made: they hold no cycles, and the
    collections their allocations set off took more than half of a 50,000-stroke board's decode."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
