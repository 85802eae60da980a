"""The room server: one socketify app hosting any number of sessions (or exactly one, in a pod).

Per inbound frame the Python work is bounded and small: decode and validate (msgspec), then either queue
the frame for uWebSockets' native pub/sub (live traffic) or start publishing it to the op log (durable
ops). Nothing runs per recipient in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import msgspec
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from socketify import App, OpCode
from socketify.native import lib

from drawnet.bus import connect, ensure_ops_stream
from drawnet.protocol import (
    PROTOCOL_VERSION,
    Ack,
    AddStroke,
    Begin,
    CloseCode,
    Committed,
    Hello,
    Joined,
    Left,
    Nack,
    Op,
    OpRecord,
    Participant,
    Points,
    ProtocolError,
    Submit,
    Welcome,
    decode_client,
    encode,
    valid_name,
)
from drawnet.protocol.validation import LimitError, check_live, check_op
from drawnet.room import metrics
from drawnet.room.sessions import LiveSession
from drawnet.room.settings import RoomSettings
from drawnet.room.uvbridge import UVBridge

log = logging.getLogger(__name__)

_TEXT = OpCode.TEXT
_UNCOMPRESSED = False
RECENT_OPS = 2_000
"""Committed ops a session keeps in memory, so a reconnecting client gets a tail instead of the board."""


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
    closed: bool = False
    refused: ProtocolError | None = None
    topic: bytes = field(default=b"")


class Room:
    """Sessions, connections and the glue between uWebSockets and NATS, all on one thread."""

    def __init__(self, settings: RoomSettings, nc: NatsClient, js: JetStreamContext) -> None:
        self.settings = settings
        self.limits = settings.limits
        self._nc = nc
        self._js = js
        self._sessions: dict[str, asyncio.Task[LiveSession]] = {}
        self._recent: dict[str, deque[Committed]] = {}
        self._connections: set[Connection] = set()
        self._outbox: list[tuple[Connection, bytes, bytes]] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.ready = False
        self.draining = False
        self.app = App(lifespan=False)
        self.bridge: UVBridge | None = None
        self._routes()

    # ---------------------------------------------------------------------------------- app wiring

    def _routes(self) -> None:
        self.app.get("/healthz", lambda res, _req: res.end("ok"))
        self.app.get("/readyz", self._readyz)
        self.app.get("/metrics", self._metrics)
        self.app.ws(
            "/rooms/:session",
            {
                "compression": 0,
                # uWebSockets cuts off (1006, no reason) frames over its own limit; up to twice ours we
                # read them and close with 1009 and the numbers.
                "max_payload_length": 2 * self.limits.max_frame_bytes,
                "idle_timeout": self.settings.idle_timeout_seconds,
                "max_backpressure": self.settings.max_backpressure_bytes,
                "close_on_backpressure_limit": True,
                "send_pings_automatically": True,
                "upgrade": self._upgrade,
                "open": self._open,
                "message": self._message,
                "close": self._close,
            },
        )

    def _readyz(self, res: Any, _req: Any) -> None:
        if self.ready and not self.draining and self._nc.is_connected:
            res.end("ready")
        else:
            res.write_status(503).end("not ready")

    def _metrics(self, res: Any, _req: Any) -> None:
        res.write_header("Content-Type", CONTENT_TYPE_LATEST).end(generate_latest())

    # ---------------------------------------------------------------------------------- uWS callbacks

    def _upgrade(self, res: Any, req: Any, context: Any) -> None:
        name = req.get_parameter(0) or ""
        conn = Connection(session_name=name)
        if self.draining:
            conn.refused = ProtocolError(CloseCode.GOING_AWAY, "room is shutting down; reconnect")
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

    def _open(self, ws: Any) -> None:
        conn: Connection = ws.get_user_data()
        conn.ws = ws.clone()
        conn.topic = f"s/{conn.session_name}".encode()
        self._connections.add(conn)
        if conn.refused is not None:
            self._refuse(conn, conn.refused)

    def _message(self, ws: Any, data: str | bytes, _opcode: Any) -> None:
        conn: Connection = ws.get_user_data()
        if conn.closed:
            return
        try:
            self._dispatch(conn, data)
        except ProtocolError as error:
            self._refuse(conn, error)

    def _close(self, ws: Any, _code: int, _message: Any) -> None:
        conn: Connection = ws.get_user_data()
        conn.closed = True
        self._connections.discard(conn)
        session, participant = conn.session, conn.participant
        if conn.phase is Phase.JOINED and session is not None and participant is not None:
            metrics.CONNECTIONS.dec()
            session.participants.pop(participant.id, None)
            self._publish(conn.topic, encode(Left(id=participant.id)))

    def _dispatch(self, conn: Connection, data: str | bytes) -> None:
        self._check_size(data)
        message = decode_client(data)
        if conn.phase is Phase.JOINED:
            if isinstance(message, Points | Begin):
                self._relay_live(conn, message)
            elif isinstance(message, Submit):
                metrics.MESSAGES_IN.labels("op").inc()
                self._spawn(self._submit(conn, message.op))
            else:
                raise ProtocolError(CloseCode.HELLO_EXPECTED, "hello is only the first message")
        elif conn.phase is Phase.AWAITING_HELLO and isinstance(message, Hello):
            self._start_join(conn, message)
        elif conn.phase is Phase.AWAITING_HELLO:
            raise ProtocolError(CloseCode.HELLO_EXPECTED, "the first message must be hello")
        else:
            raise ProtocolError(CloseCode.HELLO_EXPECTED, "wait for welcome before sending")

    def _check_size(self, data: str | bytes) -> None:
        limit = self.limits.max_frame_bytes
        # A str has at most 4 bytes per character: only frames that might be over the limit get measured.
        if len(data) * 4 > limit:
            size = len(data) if isinstance(data, bytes) else len(data.encode())
            if size > limit:
                raise ProtocolError(
                    CloseCode.MESSAGE_TOO_BIG, f"frame of {size} bytes exceeds max_frame_bytes {limit}"
                )

    # ---------------------------------------------------------------------------------- live traffic

    def _relay_live(self, conn: Connection, message: Begin | Points) -> None:
        check_live(message, self.limits)
        assert conn.participant is not None  # noqa: S101 - a JOINED connection has one
        metrics.MESSAGES_IN.labels(message.__struct_config__.tag).inc()
        frame = encode(msgspec.structs.replace(message, by=conn.participant.id))
        # Published after this libuv turn, natively, to everyone subscribed except the sender.
        self._outbox.append((conn, conn.topic, frame))

    def flush_outbox(self) -> None:
        """Publish the frames queued during the last libuv turn (the bridge calls this after each turn)."""
        if not self._outbox:
            return
        outbox, self._outbox = self._outbox, []
        ssl, app = self.app.SSL, self.app.app
        for conn, topic, frame in outbox:
            if conn.closed:
                lib.uws_publish(ssl, app, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED)
            else:
                lib.uws_ws_publish_with_options(
                    ssl, conn.ws.ws, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED
                )

    def _publish(self, topic: bytes, frame: bytes) -> None:
        """Send a frame to every subscriber of a topic, now."""
        lib.uws_publish(
            self.app.SSL, self.app.app, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED
        )
        if self.bridge is not None:
            self.bridge.wake()

    def _send(self, conn: Connection, frame: bytes) -> None:
        if not conn.closed:
            conn.ws.send(frame, _TEXT)
            if self.bridge is not None:
                self.bridge.wake()

    def _refuse(self, conn: Connection, error: ProtocolError) -> None:
        """Close one connection with a code and a reason; nobody else notices."""
        metrics.REJECTED.labels(error.code.name.lower()).inc()
        if not conn.closed:
            log.info("closing a connection to %s: %s %s", conn.session_name, error.code.name, error.reason)
            conn.ws.end(int(error.code), error.reason)
            conn.closed = True
            if self.bridge is not None:
                self.bridge.wake()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------------------------- joining

    def _start_join(self, conn: Connection, hello: Hello) -> None:
        if hello.v != PROTOCOL_VERSION:
            raise ProtocolError(
                CloseCode.UNSUPPORTED_VERSION,
                f"protocol version {hello.v} is not supported; this room speaks {PROTOCOL_VERSION}",
            )
        conn.phase = Phase.JOINING
        self._spawn(self._join(conn, hello))

    async def session(self, name: str) -> LiveSession:
        """The live session `name`, loading its board from the op log the first time."""
        task = self._sessions.get(name)
        if task is None:
            live = LiveSession(self._js, self.settings.namespace, name, self._on_committed)
            task = asyncio.get_running_loop().create_task(self._load(live))
            self._sessions[name] = task
        return await asyncio.shield(task)

    async def _load(self, live: LiveSession) -> LiveSession:
        self._recent[live.name] = deque(maxlen=RECENT_OPS)
        try:
            await live.load()
        except BaseException:
            self._sessions.pop(live.name, None)
            raise
        return live

    def _on_committed(self, session: LiveSession, committed: Committed, frame: bytes) -> None:
        self._recent[session.name].append(committed)
        self._publish(session.topic.encode(), frame)

    async def _join(self, conn: Connection, hello: Hello) -> None:
        try:
            session = await self.session(conn.session_name)
        except (NatsError, TimeoutError) as error:
            log.warning("cannot load session %s: %s", conn.session_name, error)
            self._refuse(conn, ProtocolError(CloseCode.TRY_AGAIN_LATER, "board unavailable; retry"))
            return
        if conn.closed:
            return
        if len(session.participants) >= self.limits.max_participants:
            self._refuse(
                conn,
                ProtocolError(
                    CloseCode.ROOM_FULL,
                    f"session is full: max_participants {self.limits.max_participants}",
                ),
            )
            return
        participant = Participant(
            id=f"p{next(self._ids)}-{secrets.token_hex(2)}",
            name=hello.name.strip() or "Guest",
            color=hello.color,
        )
        self._publish(conn.topic, encode(Joined(who=participant)))
        session.participants[participant.id] = participant
        conn.session, conn.participant, conn.phase = session, participant, Phase.JOINED
        self._send(conn, encode(self._welcome(session, participant, hello.since)))
        conn.ws.subscribe(conn.topic)
        metrics.CONNECTIONS.inc()

    def _welcome(self, session: LiveSession, you: Participant, since: int) -> Welcome:
        board = session.board
        recent = self._recent[session.name]
        tail_reaches = since >= board.seq or (recent and recent[0].seq <= since + 1)
        if since > 0 and tail_reaches:
            ops = [committed for committed in recent if committed.seq > since]
            snapshot = None
        else:
            ops, snapshot = [], board.strokes
        return Welcome(
            v=PROTOCOL_VERSION,
            you=you,
            participants=list(session.participants.values()),
            seq=board.seq,
            snapshot=snapshot,
            ops=ops,
            limits=self.limits,
        )

    # ---------------------------------------------------------------------------------- durable ops

    async def _submit(self, conn: Connection, op: Op) -> None:
        session, participant = conn.session, conn.participant
        assert session is not None  # noqa: S101 - only JOINED connections submit
        assert participant is not None  # noqa: S101
        try:
            check_op(op, self.limits)
        except LimitError as error:
            self._nack(conn, op.id, error.limit, error.reason)
            return
        seq = session.board.seq_of(op.id)
        if seq is not None:
            metrics.OPS_DEDUPLICATED.inc()
            self._send(conn, encode(Ack(id=op.id, seq=seq)))
            return
        if isinstance(op, AddStroke) and len(session.board) >= self.limits.max_strokes_per_board:
            self._nack(
                conn,
                op.id,
                "max_strokes_per_board",
                f"board holds {len(session.board)} strokes: max_strokes_per_board "
                f"{self.limits.max_strokes_per_board}",
            )
            return
        started = time.perf_counter()
        record = OpRecord(by=participant.id, op=op, ts=time.time())
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
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        if ack.duplicate:
            metrics.OPS_DEDUPLICATED.inc()
        metrics.OPS_ACKED.inc()
        self._send(conn, encode(Ack(id=op.id, seq=ack.seq)))

    def _nack(self, conn: Connection, op_id: str, code: str, reason: str) -> None:
        metrics.REJECTED.labels(code).inc()
        self._send(conn, encode(Nack(id=op_id, code=code, reason=reason)))

    # ---------------------------------------------------------------------------------- lifecycle

    def go_away(self) -> None:
        """Tell every client to reconnect (elsewhere, or here after a restart)."""
        self.draining = True
        for conn in list(self._connections):
            self._refuse(conn, ProtocolError(CloseCode.GOING_AWAY, "room is shutting down; reconnect"))

    async def close(self) -> None:
        for task in list(self._sessions.values()):
            if task.done() and not task.cancelled() and task.exception() is None:
                await task.result().close()
            else:
                task.cancel()


async def serve(settings: RoomSettings) -> None:
    """Run a room until SIGTERM or SIGINT."""
    nc = await connect(settings.nats_url, name="drawnet-room")
    js = nc.jetstream()
    await ensure_ops_stream(js, duplicate_window_seconds=settings.duplicate_window_seconds)
    room = Room(settings, nc, js)
    listening = asyncio.get_running_loop().create_future()

    def on_listen(config: Any) -> None:
        listening.set_result(config)

    room.app.listen({"port": settings.port, "host": settings.host}, on_listen)
    room.bridge = UVBridge(room.app.loop.get_native_loop(), room.flush_outbox)
    room.bridge.start()
    await asyncio.wait_for(listening, timeout=5)
    if settings.session is not None:
        await room.session(settings.session)
    room.ready = True
    log.info("room ready on ws://%s:%d/rooms/<session>", settings.host, settings.port)
    print(f"drawnet room listening on ws://{settings.host}:{settings.port}", flush=True)  # noqa: T201

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("room shutting down")
    room.go_away()
    room.app.close()
    await room.close()
    with contextlib.suppress(NatsError, TimeoutError):
        await nc.drain()
    room.bridge.turn()
    room.bridge.close()
