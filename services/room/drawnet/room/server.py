"""The room server: one socketify app hosting any number of sessions (or exactly one, in a pod).

Per inbound frame the Python work is bounded and small: decode and validate (msgspec), check the rate
limits, then either queue the frame for uWebSockets' native pub/sub (live traffic) or start publishing it
to the op log (durable ops). Nothing runs per recipient in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import secrets
import signal
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from socketify import App, OpCode
from socketify.native import lib

from drawnet.bus import BusError, connect, ensure_ops_stream, wait_for_ops_stream
from drawnet.bus.access import ensure_access_stream
from drawnet.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Begin,
    ClearBoard,
    CloseCode,
    Drag,
    Hello,
    Joined,
    Left,
    Nack,
    Op,
    OpRecord,
    Participant,
    Points,
    Presence,
    ProtocolError,
    Redo,
    Renew,
    Renewed,
    Sketch,
    Submit,
    Undo,
    Welcome,
    decode_client,
    encode,
    valid_name,
)
from drawnet.protocol.access import ACCESS_STREAM, Revocation, access_subject
from drawnet.protocol.messages import AddImage, AddNote, AddShape, AddStroke, AddText, Committed, Live
from drawnet.protocol.proxies import TrustedProxies
from drawnet.protocol.status import RoomHeartbeat
from drawnet.protocol.subjects import OPS_STREAM, relay_subject, status_subject
from drawnet.protocol.tokens import JoinClaims, TokenError, verify
from drawnet.protocol.validation import LimitError, check_live, check_op
from drawnet.room import metrics, native
from drawnet.room.ratelimit import TokenBucket
from drawnet.room.revocations import Revocations
from drawnet.room.sessions import LiveSession
from drawnet.room.settings import RoomSettings
from drawnet.room.uvbridge import UVBridge

log = logging.getLogger(__name__)

_TEXT = OpCode.TEXT
_UNCOMPRESSED = False
ITEM_OPS = (AddStroke, AddShape, AddText, AddNote, AddImage)
"""Ops that add an item: a board holds at most max_strokes_per_board (all kinds together)."""
_DRAWING = (Begin, Points, Drag, Sketch)
"""Live messages that only writers may send."""
_welcome_head = msgspec.json.Encoder()
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class Phase(Enum):
    AWAITING_HELLO = "awaiting hello"
    JOINING = "joining"
    JOINED = "joined"


@dataclass(eq=False, slots=True)
class Connection:
    """What the room knows about one WebSocket (its uWebSockets user data)."""

    session_name: str
    phase: Phase = Phase.AWAITING_HELLO
    ws: Any = None
    session: LiveSession | None = None
    participant: Participant | None = None
    claims: JoinClaims | None = None
    closed: bool = False
    refused: ProtocolError | None = None
    live: TokenBucket | None = None
    ops: TokenBucket | None = None
    user_live: TokenBucket | None = None
    user_ops: TokenBucket | None = None
    live_subscribed: bool = False
    allowance: int = 0
    """Bytes of a big welcome still on their way: a late joiner is not a slow consumer for that."""
    opened: float = 0.0
    """When the upgrade was accepted (monotonic): a connection without a hello is closed after a while."""
    forwarded_for: str = ""
    """The upgrade's X-Forwarded-For, used only when the peer is a trusted proxy."""
    address: str = ""
    """The client's address, counted against max_pending_per_address until the connection joins."""
    pending: bool = False


@dataclass(slots=True)
class _UserBuckets:
    live: TokenBucket
    ops: TokenBucket
    connections: int = 0


class Room:
    """Sessions, connections and the glue between uWebSockets and NATS, all on one thread."""

    _nc: NatsClient
    _js: JetStreamContext

    def __init__(self, settings: RoomSettings) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.keys = settings.keys
        self.revocations = Revocations(settings.revocation_keep_seconds)
        self.stats = metrics.RoomStats()
        self._sessions: dict[str, asyncio.Task[LiveSession]] = {}
        self._connections: set[Connection] = set()
        self._users: dict[str, _UserBuckets] = {}
        self._addresses: Counter[str] = Counter()
        self._trusted = TrustedProxies(settings.trusted_proxies)
        self._origins = {
            urlsplit(part.strip()).netloc.lower()
            for part in settings.allowed_origins.split(",")
            if part.strip()
        }
        self._outbox: list[tuple[Connection, bytes, bytes]] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight = 0
        self._settled = asyncio.Event()
        """Set whenever no durable op is waiting for JetStream's ack."""
        self._lingering: dict[str, asyncio.TimerHandle] = {}
        self.now = time.monotonic()
        self._traffic = False
        """Something was sent since the slow-consumer watcher last looked."""
        self.ready = False
        self.draining = False
        self.waiting_for = "starting"
        """What readiness waits for (the body of a 503 from /readyz)."""
        self.app = App(lifespan=False)
        self._ssl = self.app.SSL
        # socketify installs its own task factory and exception handler on the running asyncio loop; its
        # tasks lack what anyio (httpx) needs and its handler drops tracebacks: put asyncio's back.
        loop = asyncio.get_running_loop()
        loop.set_task_factory(None)
        loop.set_exception_handler(None)
        self.bridge: UVBridge | None = None
        self._routes()

    # ---------------------------------------------------------------------------------- app wiring

    def _routes(self) -> None:
        self.app.get("/healthz", lambda res, _req: res.end("ok"))
        self.app.get("/readyz", self._readyz)
        self.app.get("/metrics", self._metrics)
        with native.raw_message_callback():
            self._ws_route()

    def _ws_route(self) -> None:
        # `/rooms/<session>` (the embedded platform) and `/rooms/<namespace>/<session>`: what the operator's
        # routes give browsers, so that sessions of one name in two namespaces share a host without
        # colliding (an ingress controller forwards the path unchanged).
        self.app.ws("/rooms/:session", self._ws_behavior(self._upgrade))
        self.app.ws("/rooms/:namespace/:session", self._ws_behavior(self._upgrade_namespaced))

    def _ws_behavior(self, upgrade: Any) -> dict[str, Any]:
        return {
            "compression": 0,
            # uWebSockets cuts off (1006, no reason) frames over its own limit; up to twice ours we
            # read them and close with 1009 and the numbers.
            "max_payload_length": 2 * self.limits.max_frame_bytes,
            "idle_timeout": self.settings.idle_timeout_seconds,
            # We close slow consumers ourselves (with a reason) well before uWebSockets would: its
            # limit is only the backstop that bounds memory if a flood outruns our scan. It closes
            # rather than drops, so no committed op is ever silently skipped.
            "max_backpressure": 4 * self.settings.slow_consumer_close_bytes,
            "close_on_backpressure_limit": True,
            "send_pings_automatically": True,
            "upgrade": upgrade,
            "open": self._open,
            "message": self._message,
            "drain": self._drain,
            "close": self._close,
        }

    def attach(self, nc: NatsClient, js: JetStreamContext) -> None:
        """The bus, once connected (the HTTP listener runs before: /healthz answers while NATS is away)."""
        self._nc = nc
        self._js = js

    def _readyz(self, res: Any, _req: Any) -> None:
        if self.draining:
            res.write_status(503).end("not ready: draining")
        elif not self.ready:
            res.write_status(503).end(f"not ready: {self.waiting_for}")
        elif not self._nc.is_connected:
            res.write_status(503).end(f"not ready: NATS disconnected from {self.settings.nats_url}")
        else:
            res.end("ready")

    def _metrics(self, res: Any, _req: Any) -> None:
        res.write_header("Content-Type", CONTENT_TYPE_LATEST).end(generate_latest(REGISTRY))

    # ---------------------------------------------------------------------------------- uWS callbacks

    def _upgrade(self, res: Any, req: Any, context: Any) -> None:
        self._accept(res, req, context, req.get_parameter(0) or "", None)

    def _upgrade_namespaced(self, res: Any, req: Any, context: Any) -> None:
        self._accept(res, req, context, req.get_parameter(1) or "", req.get_parameter(0) or "")

    def _accept(self, res: Any, req: Any, context: Any, name: str, namespace: str | None) -> None:
        conn = Connection(session_name=name, forwarded_for=req.get_header("x-forwarded-for") or "")
        if namespace is not None and namespace != self.settings.namespace:
            conn.refused = ProtocolError(
                CloseCode.INVALID_SESSION,
                f"this room hosts namespace {self.settings.namespace!r}, not {namespace[:63]!r}",
            )
        elif not self._origin_allowed(req.get_header("origin"), req.get_header("host") or ""):
            origin = (req.get_header("origin") or "")[:60]
            conn.refused = ProtocolError(CloseCode.FORBIDDEN, f"origin {origin!r} may not open this room")
        elif self.draining:
            conn.refused = ProtocolError(CloseCode.GOING_AWAY, "room is shutting down; reconnect")
        elif not self.ready:
            conn.refused = ProtocolError(CloseCode.TRY_AGAIN_LATER, "room is starting; retry")
        elif not valid_name(name):
            conn.refused = ProtocolError(CloseCode.INVALID_SESSION, f"invalid session name {name[:40]!r}")
        elif self.settings.session is not None and name != self.settings.session:
            conn.refused = ProtocolError(
                CloseCode.INVALID_SESSION, f"this room hosts session {self.settings.session!r}, not {name!r}"
            )
        res.upgrade(
            req.get_header("sec-websocket-key"),
            req.get_header("sec-websocket-protocol"),
            req.get_header("sec-websocket-extensions"),
            context,
            conn,
        )

    def _origin_allowed(self, origin: str | None, host: str) -> bool:
        """A browser page of the room's own host (any port: the web app's), or of an allowed origin.
        No Origin: not a browser page (scripts, tests), which holds no one else's credentials."""
        if not origin:
            return True
        parts = urlsplit(origin)
        if parts.netloc.lower() in self._origins:
            return True
        mine = urlsplit(f"//{host}").hostname
        if parts.hostname in _LOOPBACK and mine in _LOOPBACK:
            return True  # one machine: the web app at localhost, the room at 127.0.0.1, or the reverse
        return bool(parts.hostname) and parts.hostname == mine

    def _open(self, ws: Any) -> None:
        conn: Connection = ws.get_user_data()
        conn.ws = ws.clone()
        conn.opened = time.monotonic()
        self._connections.add(conn)
        conn.address = self._trusted.client(ws.get_remote_address() or "", conn.forwarded_for)
        self._addresses[conn.address] += 1
        conn.pending = True
        limit = self.settings.max_pending_per_address
        if conn.refused is None and self._addresses[conn.address] > limit:
            conn.refused = ProtocolError(
                CloseCode.LIMIT_EXCEEDED,
                f"{self._addresses[conn.address] - 1} connections from your address not joined yet: "
                f"max_pending_per_address {limit}",
            )
        if conn.refused is not None:
            self._refuse(conn, conn.refused)

    def _unpend(self, conn: Connection) -> None:
        if conn.pending:
            conn.pending = False
            self._addresses[conn.address] -= 1
            if self._addresses[conn.address] <= 0:
                del self._addresses[conn.address]

    def _message(self, ws: Any, data: bytes) -> None:
        """One inbound frame: the native WebSocket pointer and the payload (see native.py)."""
        conn: Connection = native.user_data(self._ssl, ws)
        if conn.closed:
            return
        try:
            self._dispatch(conn, data)
        except ProtocolError as error:
            self._refuse(conn, error)

    def _drain(self, ws: Any) -> None:
        """uWebSockets sent what it had buffered for a client: let live traffic flow to it again."""
        conn: Connection = ws.get_user_data()
        caught_up = ws.get_buffered_amount() < self.settings.slow_consumer_live_bytes // 2
        if not conn.live_subscribed and conn.session is not None and not conn.closed and caught_up:
            conn.ws.subscribe(conn.session.live_topic)
            conn.live_subscribed = True

    def _close(self, ws: Any, _code: int, _message: Any) -> None:
        conn: Connection = ws.get_user_data()
        conn.closed = True
        self._connections.discard(conn)
        self._unpend(conn)
        if conn.phase is Phase.JOINED:
            self._leave(conn)

    # ---------------------------------------------------------------------------------- dispatch

    def _dispatch(self, conn: Connection, data: bytes) -> None:
        self._check_size(data)
        message = decode_client(data)
        if conn.phase is Phase.JOINED:
            if isinstance(message, Submit):
                self._submit(conn, message.op)
            elif isinstance(message, Renew):
                self._renew(conn, message)
            elif not isinstance(message, Hello):
                self._relay_live(conn, message)
            else:
                raise ProtocolError(CloseCode.HELLO_EXPECTED, "hello is only the first message")
        elif conn.phase is Phase.AWAITING_HELLO and isinstance(message, Hello):
            self._start_join(conn, message)
        elif conn.phase is Phase.AWAITING_HELLO:
            raise ProtocolError(CloseCode.HELLO_EXPECTED, "the first message must be hello")
        else:
            raise ProtocolError(CloseCode.HELLO_EXPECTED, "wait for welcome before sending")
        kind: str = message.__struct_config__.tag  # type: ignore[assignment]
        self.stats.received[kind] += 1
        self.stats.bytes_in[kind] += len(data)

    def _check_size(self, data: bytes) -> None:
        if (size := len(data)) > (limit := self.limits.max_frame_bytes):
            raise ProtocolError(
                CloseCode.MESSAGE_TOO_BIG, f"frame of {size} bytes exceeds max_frame_bytes {limit}"
            )

    # ---------------------------------------------------------------------------------- live traffic

    def _relay_live(self, conn: Connection, message: Live) -> None:
        participant, session = conn.participant, conn.session
        assert participant is not None  # noqa: S101 - a JOINED connection has both
        assert session is not None  # noqa: S101
        if isinstance(message, _DRAWING) and participant.role == "viewer":
            raise ProtocolError(CloseCode.FORBIDDEN, "viewers cannot draw")
        if not self._within(
            conn.live, conn.user_live, "live_rate_per_second", self.settings.live_rate_per_second
        ):
            return
        check_live(message, self.limits)
        if isinstance(message, Presence):
            participant = msgspec.structs.replace(participant, idle=message.idle)
            conn.participant = session.participants[participant.id] = participant
        frame = encode(msgspec.structs.replace(message, by=participant.id))
        session.last_activity = time.time()
        # Published after this libuv turn, natively, to everyone subscribed except the sender.
        self._outbox.append((conn, session.live_topic, frame))

    def _within(self, own: TokenBucket | None, user: TokenBucket | None, limit: str, rate: float) -> bool:
        """Both the connection's and the user's bucket allow one more message."""
        assert own is not None  # noqa: S101 - JOINED connections have buckets
        assert user is not None  # noqa: S101
        if own.take(self.now) & user.take(self.now):
            return True
        self.stats.rejected[limit] += 1
        if own.exhausted or user.exhausted:
            raise ProtocolError(CloseCode.RATE_LIMITED, f"kept sending over {limit} {rate:g}")
        return False

    def flush_outbox(self) -> bool:
        """Publish the frames queued during the last libuv turn (the bridge calls this after each turn)."""
        if not self._outbox:
            return False
        self._traffic = True
        started = time.perf_counter()
        outbox, self._outbox = self._outbox, []
        ssl, app = self.app.SSL, self.app.app
        stats = self.stats
        relay: dict[LiveSession, list[bytes]] | None = {} if self.settings.relay_between_replicas else None
        for conn, topic, frame in outbox:
            if conn.closed:
                lib.uws_publish(ssl, app, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED)
            else:
                lib.uws_ws_publish_with_options(
                    ssl, conn.ws.ws, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED
                )
            session = conn.session
            if session is not None:
                recipients = session.local - 1
                stats.deliveries += recipients
                stats.bytes_out_live += recipients * len(frame)
                if relay is not None:
                    relay.setdefault(session, []).append(frame)
        for session, frames in (relay or {}).items():
            # One NATS message per session per turn; frames are JSON, which never holds a raw newline.
            self._relay_out(session, "live", b"\n".join(frames))
        stats.published += len(outbox)
        metrics.FANOUT_SECONDS.observe(time.perf_counter() - started)
        return True

    def _publish(self, session: LiveSession, topic: bytes, frame: bytes) -> None:
        """Send a frame to every subscriber of a topic, now."""
        lib.uws_publish(
            self.app.SSL, self.app.app, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED
        )
        self._traffic = True
        self.stats.published += 1
        self.stats.deliveries += session.local
        if topic is session.live_topic:
            self.stats.bytes_out_live += session.local * len(frame)
        else:
            self.stats.bytes_out_ops += session.local * len(frame)
        self._wake()

    def _send(self, conn: Connection, frame: bytes) -> None:
        if not conn.closed:
            conn.ws.send(frame, _TEXT)
            self._traffic = True
            self._wake()

    def _wake(self) -> None:
        if self.bridge is not None:
            self.bridge.wake()

    def _refuse(self, conn: Connection, error: ProtocolError) -> None:
        """Close one connection with a code and a reason; nobody else notices."""
        self.stats.rejected[error.code.name.lower()] += 1
        if not conn.closed:
            log.info("closing a connection to %s: %s %s", conn.session_name, error.code.name, error.reason)
            conn.ws.end(int(error.code), error.reason)
            conn.closed = True
            self._wake()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def before_turn(self) -> None:
        self.now = time.monotonic()

    # ---------------------------------------------------------------------------------- replicas

    def _relay_out(self, session: LiveSession, channel: str, frame: bytes) -> None:
        subject = relay_subject(self.settings.namespace, session.name, self.settings.replica_id, channel)
        self._spawn(self._nc.publish(subject, frame))

    async def _relay_in(self, msg: Msg) -> None:
        """Traffic from another replica of a session we host: hand it to our clients of that session."""
        _, _, _, name, channel, replica = msg.subject.split(".", 5)
        if replica == self.settings.replica_id:
            return
        task = self._sessions.get(name)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return
        session = task.result()
        if channel == "presence":
            message = msgspec.json.decode(msg.data, type=Joined | Left)
            if isinstance(message, Joined):
                session.participants[message.who.id] = message.who
            else:
                session.participants.pop(message.id, None)
            self._publish(session, session.ops_topic, msg.data)
        else:
            for frame in msg.data.split(b"\n"):
                self._publish(session, session.live_topic, frame)

    # ---------------------------------------------------------------------------------- joining

    def _start_join(self, conn: Connection, hello: Hello) -> None:
        if hello.v != PROTOCOL_VERSION:
            raise ProtocolError(
                CloseCode.UNSUPPORTED_VERSION,
                f"protocol version {hello.v} is not supported; this room speaks {PROTOCOL_VERSION}",
            )
        conn.claims = self._authenticate(conn, hello)
        conn.phase = Phase.JOINING
        self._spawn(self._join(conn, hello))

    def _authenticate(self, conn: Connection, hello: Hello) -> JoinClaims:
        if hello.token is None:
            if not self.settings.allow_anonymous:
                raise TokenError("a join token is required")
            return JoinClaims.issue(
                sub=f"anon:{hello.client}",
                name=hello.name,
                ns=self.settings.namespace,
                session=conn.session_name,
                role="editor",
                ttl_seconds=0,
                grant="anonymous",
            )
        claims = verify(
            hello.token,
            self.keys,
            ns=self.settings.namespace,
            session=conn.session_name,
            leeway=self.settings.token_grace_seconds,
        )
        self._check_revoked(claims)
        return claims

    def _check_revoked(self, claims: JoinClaims) -> None:
        revocation = self.revocations.refusal(claims, time.time())
        if revocation is not None:
            raise ProtocolError(revocation.close_code, revocation.reason)

    # ---------------------------------------------------------------------------------- access

    def _renew(self, conn: Connection, renew: Renew) -> None:
        """In-band re-authentication: the connection goes on under a fresh token of the same person."""
        held = conn.claims
        assert held is not None  # noqa: S101 - JOINED
        claims = verify(
            renew.token,
            self.keys,
            ns=self.settings.namespace,
            session=conn.session_name,
            leeway=self.settings.token_grace_seconds,
        )
        if (claims.sub, claims.role) != (held.sub, held.role):
            raise ProtocolError(
                CloseCode.FORBIDDEN,
                f"a renewed token must be for {held.role} {held.sub[:40]}; reconnect with it instead",
            )
        self._check_revoked(claims)
        conn.claims = claims
        self._send(conn, encode(Renewed(exp=claims.exp)))

    async def revoked_in(self, msg: Msg) -> None:
        """A revocation from the drawing service: close exactly the connections it no longer admits."""
        try:
            revocation = msgspec.json.decode(msg.data, type=Revocation)
        except msgspec.ValidationError as invalid:
            log.warning("ignoring a malformed revocation on %s: %s", msg.subject, invalid)
            return
        self.revocations.add(revocation)
        self.stats.revocations += 1
        error = ProtocolError(revocation.close_code, revocation.reason)
        closed = 0
        for conn in list(self._connections):
            if conn.closed or conn.claims is None or conn.session_name != revocation.session:
                continue
            if revocation.matches(conn.claims):
                self._refuse(conn, error)
                closed += 1
        if closed:
            log.info(
                "revocation for %s/%s closed %d connections: %s",
                revocation.ns,
                revocation.session,
                closed,
                revocation.reason,
            )

    async def watch_tokens(self, interval: float = 1.0) -> None:
        """Close the connections whose join token expired and was not renewed (`renew`), and those that
        sent no hello in time (pings would keep them open for ever)."""
        grace = self.settings.token_grace_seconds
        hello_by = self.settings.hello_timeout_seconds
        while True:
            await asyncio.sleep(interval)
            now, monotonic = time.time(), time.monotonic()
            for conn in list(self._connections):
                if (
                    conn.phase is Phase.AWAITING_HELLO
                    and not conn.closed
                    and monotonic - conn.opened > hello_by
                ):
                    self._refuse(
                        conn,
                        ProtocolError(
                            CloseCode.HELLO_TIMEOUT, f"no hello within hello_timeout_seconds {hello_by:g}"
                        ),
                    )
                    continue
                claims = conn.claims
                if conn.closed or claims is None or claims.grant == "anonymous":
                    continue
                if claims.exp + grace < now:
                    self._refuse(
                        conn,
                        ProtocolError(
                            CloseCode.TOKEN_EXPIRED,
                            f"join token expired {now - claims.exp:.0f}s ago and was not renewed; "
                            "reconnect with a new one",
                        ),
                    )

    async def session(self, name: str) -> LiveSession:
        """The live session `name`, loading its board the first time."""
        task = self._sessions.get(name)
        if task is None:
            live = LiveSession(self._js, self.settings.namespace, name, self._on_committed)
            task = asyncio.get_running_loop().create_task(self._load(live))
            self._sessions[name] = task
        return await asyncio.shield(task)

    async def _load(self, live: LiveSession) -> LiveSession:
        drawing = self.settings.drawing_url
        namespace = self.settings.namespace
        snapshot_url = (
            f"{drawing.rstrip('/')}/api/v1/sessions/{live.name}/snapshot?namespace={namespace}"
            if drawing
            else None
        )
        try:
            await live.load(snapshot_url)
        except BaseException:
            self._sessions.pop(live.name, None)
            await live.close()
            raise
        self.stats.sessions += 1
        self.stats.board_loads["snapshot" if live.loaded_from_snapshot else "log"] += 1
        self.stats.replayed_ops += live.replayed
        return live

    def _on_committed(self, session: LiveSession, _committed: Committed, frame: bytes) -> None:
        self._publish(session, session.ops_topic, frame)

    async def _join(self, conn: Connection, hello: Hello) -> None:
        claims = conn.claims
        assert claims is not None  # noqa: S101 - authenticated in _start_join
        try:
            session = await self.session(conn.session_name)
        except (NatsError, TimeoutError) as error:
            log.warning("cannot load session %s: %s", conn.session_name, error)
            self._refuse(conn, ProtocolError(CloseCode.TRY_AGAIN_LATER, "board unavailable; retry"))
            return
        if conn.closed:
            return
        refusal = self._over_limits(session, claims)
        if refusal is not None:
            self._refuse(conn, refusal)
            return
        started = time.perf_counter()
        participant = Participant(
            id=f"p{next(self._ids)}-{secrets.token_hex(2)}",
            name=(claims.name or hello.name).strip()[:64] or "Guest",
            color=hello.color,
            user=claims.sub,
            role=claims.role,
        )
        self._admit(conn, session, participant, claims)
        welcome = self._welcome(session, participant, hello.since)
        conn.allowance = len(welcome)
        self._send(conn, welcome)
        conn.ws.subscribe(session.ops_topic)
        conn.ws.subscribe(session.live_topic)
        conn.live_subscribed = True
        metrics.WELCOME_SECONDS.observe(time.perf_counter() - started)

    def _over_limits(self, session: LiveSession, claims: JoinClaims) -> ProtocolError | None:
        """Why this person may not join now: the session is full (its own limit, which its tokens carry,
        within the room's; its owner always gets in), or they hold too many connections already."""
        held = self._users.get(claims.sub)
        per_user = self.settings.max_connections_per_user
        if held is not None and held.connections >= per_user:
            return ProtocolError(
                CloseCode.LIMIT_EXCEEDED,
                f"you hold {held.connections} connections here: max_connections_per_user {per_user}",
            )
        limit = self.limits.max_participants
        if claims.max_participants:
            limit = min(limit, claims.max_participants)
        if claims.role != "owner" and len(session.participants) >= limit:
            return ProtocolError(CloseCode.ROOM_FULL, f"session is full: max_participants {limit}")
        return None

    def _admit(
        self, conn: Connection, session: LiveSession, participant: Participant, claims: JoinClaims
    ) -> None:
        joined = encode(Joined(who=participant))
        self._publish(session, session.ops_topic, joined)
        if self.settings.relay_between_replicas:
            self._relay_out(session, "presence", joined)
        session.participants[participant.id] = participant
        session.local += 1
        session.idle_timeout = claims.idle
        self._cancel_linger(session.name)
        s = self.settings
        user = self._users.get(claims.sub)
        if user is None:
            user = self._users[claims.sub] = _UserBuckets(
                live=TokenBucket(s.user_live_rate_per_second, s.user_live_burst, self.now),
                ops=TokenBucket(s.user_ops_rate_per_second, s.user_ops_burst, self.now),
            )
        user.connections += 1
        conn.live = TokenBucket(s.live_rate_per_second, s.live_burst, self.now)
        conn.ops = TokenBucket(s.ops_rate_per_second, s.ops_burst, self.now)
        conn.user_live, conn.user_ops = user.live, user.ops
        conn.session, conn.participant, conn.phase = session, participant, Phase.JOINED
        self._unpend(conn)
        self.stats.connections += 1

    def _welcome(self, session: LiveSession, you: Participant, since: int) -> bytes:
        tail = session.tail_since(since)
        welcome = Welcome(
            v=PROTOCOL_VERSION,
            you=you,
            participants=list(session.participants.values()),
            seq=session.board.seq,
            snapshot=None,
            ops=tail or [],
            limits=self.limits,
        )
        frame = encode(welcome)
        if tail is not None:
            return frame
        # Splice the session's cached, encoded snapshot in place of `"snapshot":null`.
        head, _, rest = frame.partition(b'"snapshot":null')
        return head + b'"snapshot":' + session.snapshot_frame() + rest

    def _leave(self, conn: Connection) -> None:
        session, participant, claims = conn.session, conn.participant, conn.claims
        assert session is not None  # noqa: S101 - JOINED
        assert participant is not None  # noqa: S101
        assert claims is not None  # noqa: S101
        self.stats.connections -= 1
        session.local -= 1
        session.participants.pop(participant.id, None)
        left = encode(Left(id=participant.id))
        self._publish(session, session.ops_topic, left)
        if self.settings.relay_between_replicas:
            self._relay_out(session, "presence", left)
        user = self._users.get(claims.sub)
        if user is not None:
            user.connections -= 1
            if user.connections <= 0:
                del self._users[claims.sub]
        if session.local <= 0 and self.settings.session is None:
            self._linger(session.name, session.idle_timeout)

    def _linger(self, name: str, idle_timeout: int = 0) -> None:
        """Unload an empty session's board after a while (an embedded room hosts many sessions): its
        linger, or the session's own idle timeout when that is sooner. Nobody is in it and nothing can be
        drawn meanwhile: the session is idle, and this is what the operator's idle policy `Stop` does
        with a session's room on Kubernetes."""
        self._cancel_linger(name)
        delay = self.settings.session_linger_seconds
        if idle_timeout > 0:
            delay = min(delay, idle_timeout)
        self._lingering[name] = asyncio.get_running_loop().call_later(delay, self._unload, name, delay)

    def _cancel_linger(self, name: str) -> None:
        handle = self._lingering.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _unload(self, name: str, after: float) -> None:
        self._lingering.pop(name, None)
        task = self._sessions.get(name)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return
        session = task.result()
        if session.local > 0:
            return
        del self._sessions[name]
        self.stats.sessions -= 1
        self._spawn(session.close())
        log.info("session %s unloaded after %.0fs without participants", name, after)

    # ---------------------------------------------------------------------------------- durable ops

    def _submit(self, conn: Connection, op: Op) -> None:
        session, participant, claims = conn.session, conn.participant, conn.claims
        assert session is not None  # noqa: S101 - only JOINED connections submit
        assert participant is not None  # noqa: S101
        assert claims is not None  # noqa: S101
        seq = session.board.seq_of(op.id)
        if seq is not None:
            # Already on the board (a resend whose ack was lost): acknowledged again, but within the same
            # rate as any op, or one old op sent in a loop would be a flood nothing closes.
            refusal = self._over_rate(conn)
            if refusal is None:
                self.stats.deduplicated += 1
                self._send(conn, encode(Ack(id=op.id, seq=seq)))
            else:
                self.stats.rejected[refusal[0]] += 1
                self._send(conn, encode(Nack(id=op.id, code=refusal[0], reason=refusal[1])))
            return
        refusal = self._refusal(conn, session, claims, op)
        if refusal is None and isinstance(op, Undo | Redo):
            op, refusal = self._resolve(session, claims.sub, op)
        if refusal is not None:
            code, reason = refusal
            self.stats.rejected[code] += 1
            self._send(conn, encode(Nack(id=op.id, code=code, reason=reason)))
            return
        self._in_flight += 1
        self._settled.clear()
        self._spawn(self._log_op(conn, session, OpRecord(by=claims.sub, op=op, ts=time.time())))

    def _over_rate(self, conn: Connection) -> tuple[str, str] | None:
        """Takes one op from the connection's and its user's buckets: a nack's code and reason when over
        the rate; raises (closing it) when refused through a whole further burst and still sending."""
        if conn.ops.take(self.now) & conn.user_ops.take(self.now):  # type: ignore[union-attr]
            return None
        rate = self.settings.ops_rate_per_second
        if conn.ops.exhausted or conn.user_ops.exhausted:  # type: ignore[union-attr]
            # Refused through a whole further burst and still sending: a flood, not a hurry.
            raise ProtocolError(CloseCode.RATE_LIMITED, f"kept sending ops over ops_rate_per_second {rate:g}")
        return "rate_limited", f"over ops_rate_per_second {rate:g}: resend later"

    def _refusal(  # noqa: PLR0911 - one return per reason reads top to bottom
        self, conn: Connection, session: LiveSession, claims: JoinClaims, op: Op
    ) -> tuple[str, str] | None:
        """Why this op may not be logged (a nack's code and reason), or None."""
        if not claims.can_write:
            return "forbidden", f"{claims.role}s cannot change the board"
        if isinstance(op, ClearBoard) and claims.role != "owner":
            return "forbidden", "only the session's owner can clear the board"
        if self.draining:
            return "draining", "room is shutting down; resend after reconnecting"
        if (over := self._over_rate(conn)) is not None:
            return over
        try:
            check_op(op, self.limits)
        except LimitError as error:
            return error.limit, error.reason
        if isinstance(op, ITEM_OPS) and (adding := len(getattr(op, "pts", ()))):
            held, most = session.board.points, self.settings.max_points_per_board
            if held + adding > most:
                return (
                    "max_points_per_board",
                    f"board holds {held} points, this stroke {adding} more: max_points_per_board {most}",
                )
        if isinstance(op, ITEM_OPS) and len(session.board) >= self.limits.max_strokes_per_board:
            limit = self.limits.max_strokes_per_board
            return (
                "max_strokes_per_board",
                f"board holds {len(session.board)} items: max_strokes_per_board {limit}",
            )
        return None

    def _resolve(
        self, session: LiveSession, author: str, op: Undo | Redo
    ) -> tuple[Undo | Redo, tuple[str, str] | None]:
        """An undo or redo names the op it acts on before it is logged, so the log says what happens."""
        undo = isinstance(op, Undo)
        word = "undo" if undo else "redo"
        target = session.board.undo_target(author) if undo else session.board.redo_target(author)
        if target is None:
            return op, (f"nothing_to_{word}", f"you have no op to {word}")
        if op.target is not None and op.target != target:
            return op, ("stale", f"op {op.target} is not the one to {word} now ({target} is)")
        return msgspec.structs.replace(op, target=target), None

    async def _log_op(self, conn: Connection, session: LiveSession, record: OpRecord) -> None:
        started = time.perf_counter()
        op = record.op
        try:
            ack = await self._js.publish(
                session.subject,
                encode(record),
                timeout=self.settings.publish_timeout_seconds,
                headers={"Nats-Msg-Id": f"{session.name}/{op.id}"},
            )
        except (NatsError, TimeoutError) as error:
            # Not a nack: the op may yet be stored. The client keeps it in its outbox and resends.
            log.warning("op %s not acknowledged by JetStream: %r", op.id, error)
            self._refuse(conn, ProtocolError(CloseCode.TRY_AGAIN_LATER, "op log unavailable; resend"))
            return
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._settled.set()
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        if ack.duplicate:
            self.stats.deduplicated += 1
        self.stats.acked += 1
        session.last_activity = record.ts
        self._send(conn, encode(Ack(id=op.id, seq=ack.seq)))

    # ---------------------------------------------------------------------------------- housekeeping

    async def watch_slow_consumers(self, interval: float = 0.1) -> None:
        """Stop live traffic to clients that fall behind; close those that fall far behind."""
        soft, hard = self.settings.slow_consumer_live_bytes, self.settings.slow_consumer_close_bytes
        while True:
            await asyncio.sleep(interval)
            if not self._traffic:
                continue  # nothing sent and nothing waiting: an idle room costs nothing here
            self._traffic = False
            most = 0
            for conn in list(self._connections):
                if conn.closed or conn.session is None:
                    continue
                buffered = int(lib.uws_ws_get_buffered_amount(self.app.SSL, conn.ws.ws))
                most = max(most, buffered)
                if buffered > hard + conn.allowance:
                    self._refuse(
                        conn,
                        ProtocolError(
                            CloseCode.SLOW_CONSUMER,
                            f"{buffered} bytes unread: over slow_consumer_close_bytes {hard}; reconnect",
                        ),
                    )
                elif buffered > soft and conn.live_subscribed:
                    conn.ws.unsubscribe(conn.session.live_topic)
                    conn.live_subscribed = False
                    self.stats.rejected["slow_consumer_live"] += 1
                elif not conn.live_subscribed and buffered < soft // 2:
                    conn.ws.subscribe(conn.session.live_topic)
                    conn.live_subscribed = True
                if conn.allowance and buffered < hard:
                    conn.allowance = 0  # the welcome is out
            self.stats.max_buffered_bytes = most
            if most:
                self._traffic = True  # keep looking while anything is still waiting to be sent

    async def keep_alive(self) -> None:
        """Ping every connection each `ping_interval_seconds`: proxies between browser and room (an ingress
        controller, a load balancer) close a WebSocket that carries nothing for their idle timeout, and a
        quiet board carries nothing. The browser's pong also tells uWebSockets the client is alive."""
        ping, compress, fin = int(OpCode.PING), False, True
        while True:
            await asyncio.sleep(self.settings.ping_interval_seconds)
            ssl = self.app.SSL
            sent = 0
            for conn in list(self._connections):
                if not conn.closed and conn.ws is not None:
                    lib.uws_ws_send_with_options(ssl, conn.ws.ws, b"", 0, ping, compress, fin)
                    sent += 1
            if sent:
                self._wake()

    async def heartbeat(self) -> None:
        """Tell the platform (the operator) how each hosted session is doing."""
        while True:
            for name, task in list(self._sessions.items()):
                if not task.done() or task.cancelled() or task.exception() is not None:
                    continue
                session = task.result()
                beat = RoomHeartbeat(
                    namespace=self.settings.namespace,
                    session=name,
                    replica=self.settings.replica_id,
                    ready=self.ready and not self.draining,
                    participants=session.local,
                    strokes=len(session.board),
                    seq=session.board.seq,
                    last_activity=session.last_activity,
                    ts=time.time(),
                )
                with contextlib.suppress(NatsError):
                    await self._nc.publish(status_subject(self.settings.namespace, name), encode(beat))
            await asyncio.sleep(self.settings.heartbeat_seconds)

    async def drain(self) -> None:
        """SIGTERM: refuse new work, acknowledge what is in flight, then tell everyone to reconnect."""
        self.draining = True
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), timeout=self.settings.drain_grace_seconds - 1.0)
        for conn in list(self._connections):
            self._refuse(conn, ProtocolError(CloseCode.GOING_AWAY, "room is shutting down; reconnect"))

    async def close(self) -> None:
        for handle in self._lingering.values():
            handle.cancel()
        for task in list(self._sessions.values()):
            if task.done() and not task.cancelled() and task.exception() is None:
                await task.result().close()
            else:
                task.cancel()


async def _connect_patiently(room: Room) -> NatsClient:
    """NATS, however long it takes to come (on a fresh install the room may start first)."""
    settings = room.settings
    attempts = 0
    while True:
        try:
            return await connect(settings.nats_url, name=f"drawnet-room-{settings.replica_id}")
        except BusError as error:
            attempts += 1
            if attempts == 1 or attempts % 30 == 0:
                log.warning(
                    "waiting for NATS (attempt %d, again every %gs; alive, not ready): %s",
                    attempts,
                    settings.nats_retry_seconds,
                    error,
                )
            await asyncio.sleep(settings.nats_retry_seconds)


async def _follow_revocations(room: Room, js: JetStreamContext) -> None:
    """Subscribe to this namespace's revocations from the start of the access stream (it keeps only
    those a live token may concern), and return once the ones already there are known."""
    seen = 0
    caught_up = asyncio.Event()
    expected: int | None = None

    async def on_revocation(msg: Msg) -> None:
        nonlocal seen
        await room.revoked_in(msg)
        seen += 1
        if expected is not None and seen >= expected:
            caught_up.set()

    subscription = await js.subscribe(
        access_subject(room.settings.namespace, "*"),
        cb=on_revocation,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
    )
    info = await subscription.consumer_info()
    delivered = info.delivered.consumer_seq if info.delivered is not None else 0
    expected = (delivered or 0) + (info.num_pending or 0)
    if seen >= expected:
        caught_up.set()
    await caught_up.wait()


async def start_up(room: Room) -> list[asyncio.Task[None]]:
    """Everything readiness waits for, in order, each named in /readyz while it is awaited: NATS, the op
    log, the relay subscription, the session's board. Returns the background tasks it started."""
    settings = room.settings
    room.waiting_for = f"connecting to NATS at {settings.nats_url}"
    nc = await _connect_patiently(room)
    js = nc.jetstream()
    if settings.drawing_url:
        # The drawing service declares the op log, numbered on from what SQL holds: on a NATS that lost
        # it, a room declaring it first would number it from 1 again (see ensure_ops_stream).
        room.waiting_for = f"waiting for the drawing service to declare the {OPS_STREAM} stream"
        await wait_for_ops_stream(js)
    room.waiting_for = f"declaring the {OPS_STREAM} stream"
    await ensure_ops_stream(js, duplicate_window_seconds=settings.duplicate_window_seconds)
    room.attach(nc, js)
    room.waiting_for = f"reading the revocations in the {ACCESS_STREAM} stream"
    await ensure_access_stream(js, keep_seconds=settings.revocation_keep_seconds, update=False)
    await _follow_revocations(room, js)
    if settings.relay_between_replicas:
        await nc.subscribe(f"drawnet.relay.{settings.namespace}.*.*.*", cb=room._relay_in)  # noqa: SLF001
    if settings.session is not None:
        room.waiting_for = f"loading the board of session {settings.session}"
        await room.session(settings.session)
    loop = asyncio.get_running_loop()
    background = [
        loop.create_task(room.watch_slow_consumers()),
        loop.create_task(room.heartbeat()),
        loop.create_task(room.keep_alive()),
        loop.create_task(room.watch_tokens()),
    ]
    # What exists now (modules, the app, the board loaded at start) lives as long as the process: out of
    # the garbage collector's sight, a full collection walks only what came later. Walking it all took
    # ~55 ms, a stall in every ack and fan-out meanwhile; 1-9 ms after (bench/relay.py durable, timed
    # with gc.callbacks).
    gc.collect()
    gc.freeze()
    room.ready = True
    room.waiting_for = ""
    log.info("room %s ready on ws://%s:%d/rooms/<session>", settings.replica_id, settings.host, settings.port)
    return background


async def serve(settings: RoomSettings) -> None:
    """Run a room until SIGTERM or SIGINT.

    The HTTP listener opens first: /healthz answers as soon as the process runs (the liveness probe must
    not kill a room that waits for NATS or the op log), /readyz only once `start_up` is done."""
    room = Room(settings)
    REGISTRY.register(metrics.RoomCollector(room.stats))
    loop = asyncio.get_running_loop()
    listening = loop.create_future()
    room.app.listen({"port": settings.port, "host": settings.host}, listening.set_result)
    room.bridge = UVBridge(room.app.loop.get_native_loop(), room.flush_outbox, room.before_turn)
    room.bridge.start()
    await asyncio.wait_for(listening, timeout=5)
    print(f"drawnet room listening on ws://{settings.host}:{settings.port}", flush=True)  # noqa: T201

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = loop.create_task(start_up(room))
    stopping = loop.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    background: list[asyncio.Task[None]] = []
    if starting.done():
        background = starting.result()  # an error while starting ends the process, with its traceback
        await stopping
    else:
        log.info("room stopped while %s", room.waiting_for)
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting

    log.info("room draining")
    room.app.close()  # stop accepting connections
    if room.ready:
        await room.drain()
    for task in background:
        task.cancel()
    await room.close()
    if room.ready:
        with contextlib.suppress(NatsError, TimeoutError):
            await asyncio.wait_for(room._nc.drain(), timeout=2)  # noqa: SLF001
    room.bridge.turn()
    room.bridge.close()
