"""Room heartbeats (`drawnet.status.<ns>.<session>`) folded into sessions' status, gently.

Every room replica publishes a `RoomHeartbeat` for its session every few seconds. The operator keeps the
latest one per replica in memory (`HeartbeatBoard`) and asks for a status update only when what people
see changed (participants, strokes, readiness, activity) or when `lastHeartbeatTime` is due for a refresh;
`Throttle` then spaces those updates out per session and caps them all together, so a thousand busy
rooms cost the API server a bounded number of patches per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from drawnet.bus.nats import BusError, connect
from drawnet.operator.status import HEARTBEAT_REFRESH_SECONDS, Heartbeat
from drawnet.protocol.status import RoomHeartbeat
from drawnet.protocol.subjects import status_subject

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, session)"""

_decoder = msgspec.json.Decoder(RoomHeartbeat)


@dataclass
class _Session:
    replicas: dict[str, Heartbeat] = field(default_factory=dict)
    folded: tuple[int, int, bool, float] | None = None
    folded_at: float = 0.0


class HeartbeatBoard:
    """The latest heartbeat of every replica of every session, and whether the status should follow."""

    def __init__(self, *, stale_seconds: float, on_change: Callable[[Key], None]) -> None:
        self.stale_seconds = stale_seconds
        self._on_change = on_change
        self._sessions: dict[Key, _Session] = {}
        self.received = 0
        self.malformed = 0

    def receive(self, beat: RoomHeartbeat, *, now: float | None = None) -> None:
        received = time.time() if now is None else now
        self.received += 1
        key = (beat.namespace, beat.session)
        session = self._sessions.setdefault(key, _Session())
        session.replicas[beat.replica] = Heartbeat(
            replica=beat.replica,
            ready=beat.ready,
            participants=beat.participants,
            strokes=beat.strokes,
            last_activity=beat.last_activity,
            received=received,
        )
        latest = self.get(key, now=received)
        if latest is None:
            return
        seen = (latest.participants, latest.strokes, latest.ready, latest.last_activity)
        if seen != session.folded or received - session.folded_at >= HEARTBEAT_REFRESH_SECONDS:
            session.folded, session.folded_at = seen, received
            self._on_change(key)

    def get(self, key: Key, *, now: float | None = None) -> Heartbeat | None:
        """The session as its replicas see it: fresh replicas summed (stale ones dropped), else the
        newest stale one (so the status can say how stale)."""
        session = self._sessions.get(key)
        if session is None or not session.replicas:
            return None
        moment = time.time() if now is None else now
        fresh = [b for b in session.replicas.values() if moment - b.received <= self.stale_seconds]
        if not fresh:
            return max(session.replicas.values(), key=lambda b: b.received)
        newest = max(fresh, key=lambda b: b.received)
        return Heartbeat(
            replica=",".join(sorted(b.replica for b in fresh)),
            ready=any(b.ready for b in fresh),
            participants=sum(b.participants for b in fresh),
            strokes=max(b.strokes for b in fresh),
            last_activity=max(b.last_activity for b in fresh),
            received=newest.received,
        )

    def forget(self, key: Key) -> None:
        self._sessions.pop(key, None)

    def forget_replicas_older_than(self, seconds: float, *, now: float | None = None) -> None:
        """Drop replicas long gone (a replaced pod), so they neither count nor leak."""
        moment = time.time() if now is None else now
        for session in self._sessions.values():
            for replica, beat in list(session.replicas.items()):
                if moment - beat.received > seconds and len(session.replicas) > 1:
                    del session.replicas[replica]


class Throttle:
    """Runs `action(key)` for requested keys: each key at most every `min_interval` seconds, all keys
    together at most `rate` per second; requests for a key already waiting are merged into one."""

    def __init__(
        self,
        action: Callable[[Key], Awaitable[None]],
        *,
        min_interval: float,
        rate: float,
        concurrency: int = 8,
    ) -> None:
        self._action = action
        self._min_interval = min_interval
        self._rate = rate
        self._tokens = max(1.0, rate)
        self._refilled = time.monotonic()
        self._last_run: dict[Key, float] = {}
        self._waiting: set[Key] = set()
        self._due: list[tuple[float, Key]] = []
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.merged = 0
        self.runs = 0

    def request(self, key: Key) -> None:
        if key in self._waiting:
            self.merged += 1
            return
        self._waiting.add(key)
        due = self._last_run.get(key, float("-inf")) + self._min_interval
        heapq.heappush(self._due, (max(due, time.monotonic()), key))
        self._wake.set()

    def forget(self, key: Key) -> None:
        self._last_run.pop(key, None)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="heartbeat-throttle")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._running):
            task.cancel()

    async def _take_token(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(max(1.0, self._rate), self._tokens + (now - self._refilled) * self._rate)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self._tokens) / self._rate)

    async def _loop(self) -> None:
        while True:
            if not self._due:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, key = self._due[0]
            delay = due - time.monotonic()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                continue
            heapq.heappop(self._due)
            await self._take_token()
            await self._slots.acquire()
            self._waiting.discard(key)
            self._last_run[key] = time.monotonic()
            self.runs += 1
            task = asyncio.get_running_loop().create_task(self._run(key))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, key: Key) -> None:
        try:
            await self._action(key)
        except Exception:
            log.exception("status update of %s/%s from heartbeats failed", *key)
        finally:
            self._slots.release()


class HeartbeatListener:
    """Subscribes to the heartbeats of the namespaces served (all: `drawnet.status.>`)."""

    def __init__(self, nats_url: str, namespaces: Iterable[str], board: HeartbeatBoard) -> None:
        self._url = nats_url
        self._namespaces = tuple(namespaces)
        self._board = board
        self._nc: Client | None = None
        self._subscriptions: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def subjects(self) -> list[str]:
        if not self._namespaces:
            return ["drawnet.status.>"]
        return [status_subject(namespace, "*") for namespace in self._namespaces]

    def start(self) -> None:
        """Connect and subscribe in the background: rooms are the operator's job, live status a bonus, so
        NATS being away at start delays only the latter (sessions say `Live: NoHeartbeat` meanwhile)."""
        self._task = asyncio.get_running_loop().create_task(self._connect(), name="heartbeat-listener")

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            try:
                self._nc = await connect(self._url, name="drawnet-operator")
                break
            except BusError as error:
                log.warning("no heartbeats yet (retrying in %.0fs): %s", delay, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        for subject in self.subjects:
            self._subscriptions.append(await self._nc.subscribe(subject, cb=self._on_message))
        log.info("listening to room heartbeats on %s", ", ".join(self.subjects))

    async def _on_message(self, message: Msg) -> None:
        try:
            beat = _decoder.decode(message.data)
        except msgspec.DecodeError as error:
            self._board.malformed += 1
            log.warning("malformed heartbeat on %s: %s", message.subject, error)
            return
        if message.subject != status_subject(beat.namespace, beat.session):
            self._board.malformed += 1  # a room may only speak for the session of its subject
            return
        self._board.receive(beat)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.drain(), timeout=2)
            self._nc = None
