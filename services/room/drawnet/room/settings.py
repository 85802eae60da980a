"""The room's settings: one environment variable per field (`DRAWNET_ROOM_<FIELD>`), read once at start."""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from drawnet.protocol import Limits, valid_name
from drawnet.protocol.limits import HARD_MAX_FONT_SIZE, HARD_MAX_LASER_POINTS, HARD_MAX_TEXT_CHARS
from drawnet.protocol.proxies import TrustedProxies
from drawnet.protocol.tokens import parse_keys

_DEFAULT_LIMITS = Limits()


class RoomSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRAWNET_ROOM_", frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    """Interface to listen on; a pod listens on 0.0.0.0."""
    port: Annotated[int, Field(ge=0, le=65535)] = 8001
    """WebSocket and HTTP (/healthz, /readyz, /metrics) port; 0 picks a free one (printed at start)."""
    nats_url: str = "nats://127.0.0.1:4222"
    namespace: str = "default"
    """The namespace of the sessions this room hosts (a Kubernetes namespace, or `default` embedded)."""
    session: str | None = None
    """Host only this session and load its board before reporting ready (one pod per session);
    unset, the room hosts any session on demand (the embedded platform)."""
    duplicate_window_seconds: Annotated[float, Field(gt=0)] = 600.0
    """How long JetStream remembers op ids to drop resent ops; the board's op index covers the rest."""
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    """How long an op may wait for JetStream's ack before the author is told to reconnect and resend."""
    idle_timeout_seconds: Annotated[int, Field(ge=8, le=960)] = 120
    """A connection that sends nothing (not even a pong) for this long is closed by uWebSockets."""
    ping_interval_seconds: Annotated[float, Field(gt=0)] = 25.0
    """The room pings every connection this often. Proxies close WebSockets that carry nothing for their
    idle timeout (ingress-nginx's proxy-read-timeout and an AWS ALB's idle timeout: 60 s; Traefik's is
    longer), and a quiet board carries nothing: 25 s stays under them with room for one lost ping. The
    browser's pong keeps the connection alive for `idle_timeout_seconds` too."""
    nats_retry_seconds: Annotated[float, Field(gt=0)] = 1.0
    """A room that cannot reach NATS at start tries again this often, alive (/healthz) but not ready
    (/readyz): on a fresh install the room pod may start before NATS."""

    token_grace_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0
    """Clock skew allowed when checking a join token's times; a connection whose token expired more
    than this long ago and was not renewed (`renew`) is closed (4012)."""
    hello_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """A connection that has not sent `hello` this long after its upgrade is closed (4016)."""
    revocation_keep_seconds: Annotated[float, Field(gt=0)] = 3600.0
    """How long the access stream keeps a revocation, should this room be the first to declare it (the
    drawing service sets it otherwise): longer than any join token lives."""

    signing_keys: SecretStr = SecretStr("")
    """Keys that verify join tokens, `kid1:secret1,kid2:secret2` (the drawing service signs with one)."""
    allow_anonymous: bool = False
    """Let a hello without a token in as an editor named by its client id (development only)."""
    drawing_url: str | None = None
    """The drawing service, to load a board from its snapshot instead of replaying the whole op log."""
    replica_id: str = Field(default_factory=lambda: secrets.token_hex(4))
    """This replica's name among the rooms serving the same sessions (a pod name in Kubernetes)."""
    relay_between_replicas: bool = False
    """Relay live traffic and presence through NATS to other replicas of the same session."""
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 5.0
    """How often each hosted session's status is published for the operator."""
    session_linger_seconds: Annotated[float, Field(ge=0)] = 300.0
    """How long a session's board stays loaded after its last participant left (embedded rooms)."""
    drain_grace_seconds: Annotated[float, Field(gt=0)] = 10.0
    """On SIGTERM: time to finish acknowledging ops in flight before clients are told to reconnect."""

    live_rate_per_second: Annotated[float, Field(gt=0)] = 120.0
    """Live messages (points, laser, cursor, view, presence) one connection may send per second, sustained."""
    live_burst: Annotated[int, Field(gt=0)] = 240
    """...and in a burst. Over it, live messages are dropped; a further burst over closes (4008)."""
    ops_rate_per_second: Annotated[float, Field(gt=0)] = 20.0
    """Durable ops one connection may send per second, sustained; over it they are nacked (retryable)."""
    ops_burst: Annotated[int, Field(gt=0)] = 60
    user_live_rate_per_second: Annotated[float, Field(gt=0)] = 240.0
    """The same limits for one user across all of their connections to this room."""
    user_live_burst: Annotated[int, Field(gt=0)] = 480
    user_ops_rate_per_second: Annotated[float, Field(gt=0)] = 40.0
    user_ops_burst: Annotated[int, Field(gt=0)] = 120
    allowed_origins: str = ""
    """Sites whose pages may open WebSockets here besides the room's own host (the web app shares it;
    on one machine on another port), comma-separated `https://host[:port]`. Others are refused (4003)."""
    max_connections_per_user: Annotated[int, Field(gt=0)] = 8
    """Connections one user (one join token's `sub`) may hold in this room at once; the next is closed
    (4005): one guest cannot fill a board alone."""
    max_pending_per_address: Annotated[int, Field(gt=0)] = 64
    """WebSocket connections from one client address that have not joined yet (upgraded, no welcome):
    the next is closed (4005). Joined ones are bounded per user and per session instead, so that the
    participants behind one proxy or NAT are not counted as one. See `trusted_proxies`."""
    trusted_proxies: str = ""
    """Addresses or networks (CIDR) of the proxies in front of the room (an ingress controller: the
    cluster's pod network, or the controller's addresses), comma-separated, or `*`: from them the client's
    address is the last `X-Forwarded-For` hop that is not a proxy. Empty: the peer's address, whatever it
    says."""
    slow_consumer_live_bytes: Annotated[int, Field(gt=0)] = 256 * 1024
    """Bytes buffered for a client beyond which it stops receiving live traffic until it catches up."""
    slow_consumer_close_bytes: Annotated[int, Field(gt=0)] = 4 * 1024 * 1024
    """Bytes buffered beyond which the client is closed (4010) and must reconnect."""

    max_frame_bytes: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_frame_bytes
    max_points_per_stroke: Annotated[int, Field(gt=0, le=20_000)] = _DEFAULT_LIMITS.max_points_per_stroke
    max_points_per_message: Annotated[int, Field(gt=0, le=20_000)] = _DEFAULT_LIMITS.max_points_per_message
    max_strokes_per_board: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_strokes_per_board
    max_points_per_board: Annotated[int, Field(gt=0)] = 1_000_000
    """Points a board may hold, all its strokes together (hidden ones too: its snapshot and every new
    participant's welcome carry them): a stroke past it is nacked `max_points_per_board`. A board of
    1.5M points made a 38.7 MB welcome; 1M is about 26 MB. The drawing service bounds one import by
    `max_import_points`."""
    max_participants: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_participants
    max_width: Annotated[float, Field(gt=0)] = _DEFAULT_LIMITS.max_width
    max_text_chars: Annotated[int, Field(gt=0, le=HARD_MAX_TEXT_CHARS)] = _DEFAULT_LIMITS.max_text_chars
    """Characters in one text, sticky note or edit (the protocol's hard cap is 20000)."""
    max_font_size: Annotated[float, Field(gt=0, le=HARD_MAX_FONT_SIZE)] = _DEFAULT_LIMITS.max_font_size
    """Largest font size of a text or note, in board units (the protocol's hard cap is 1000)."""
    max_laser_points_per_message: Annotated[int, Field(gt=0, le=HARD_MAX_LASER_POINTS)] = (
        _DEFAULT_LIMITS.max_laser_points_per_message
    )
    """Points in one live `laser` message (the protocol's hard cap is 1000)."""

    def model_post_init(self, _context: object, /) -> None:
        if not valid_name(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a DNS-1123 label")
        if self.session is not None and not valid_name(self.session):
            raise ValueError(f"session {self.session!r} is not a DNS-1123 label")
        if not self.keys and not self.allow_anonymous:
            raise ValueError("set signing_keys (to verify join tokens) or allow_anonymous")
        if self.ping_interval_seconds >= self.idle_timeout_seconds:
            raise ValueError(
                f"ping_interval_seconds {self.ping_interval_seconds:g} must be below idle_timeout_seconds "
                f"{self.idle_timeout_seconds}: a client pongs only when pinged"
            )
        if self.slow_consumer_live_bytes >= self.slow_consumer_close_bytes:
            raise ValueError("slow_consumer_live_bytes must be below slow_consumer_close_bytes")
        TrustedProxies(self.trusted_proxies)  # raises, naming the entry that is not an address or network

    @property
    def keys(self) -> dict[str, bytes]:
        return parse_keys(self.signing_keys.get_secret_value())

    @property
    def limits(self) -> Limits:
        return Limits(
            max_frame_bytes=self.max_frame_bytes,
            max_points_per_stroke=self.max_points_per_stroke,
            max_points_per_message=self.max_points_per_message,
            max_strokes_per_board=self.max_strokes_per_board,
            max_participants=self.max_participants,
            max_width=self.max_width,
            max_text_chars=self.max_text_chars,
            max_font_size=self.max_font_size,
            max_laser_points_per_message=self.max_laser_points_per_message,
        )
