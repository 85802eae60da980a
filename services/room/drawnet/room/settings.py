"""The room's settings: one environment variable per field (`DRAWNET_ROOM_<FIELD>`), read once at start."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from drawnet.protocol import Limits, valid_name

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
    """A connection that sends nothing (not even a ping) for this long is closed by uWebSockets."""
    max_backpressure_bytes: Annotated[int, Field(gt=0)] = 1024 * 1024
    """Bytes buffered for one slow client before uWebSockets closes it."""

    max_frame_bytes: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_frame_bytes
    max_points_per_stroke: Annotated[int, Field(gt=0, le=20_000)] = _DEFAULT_LIMITS.max_points_per_stroke
    max_points_per_message: Annotated[int, Field(gt=0, le=20_000)] = _DEFAULT_LIMITS.max_points_per_message
    max_strokes_per_board: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_strokes_per_board
    max_participants: Annotated[int, Field(gt=0)] = _DEFAULT_LIMITS.max_participants
    max_width: Annotated[float, Field(gt=0)] = _DEFAULT_LIMITS.max_width
    max_coordinate: Annotated[float, Field(gt=0)] = _DEFAULT_LIMITS.max_coordinate

    def model_post_init(self, _context: object, /) -> None:
        if not valid_name(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a DNS-1123 label")
        if self.session is not None and not valid_name(self.session):
            raise ValueError(f"session {self.session!r} is not a DNS-1123 label")

    @property
    def limits(self) -> Limits:
        return Limits(
            max_frame_bytes=self.max_frame_bytes,
            max_points_per_stroke=self.max_points_per_stroke,
            max_points_per_message=self.max_points_per_message,
            max_strokes_per_board=self.max_strokes_per_board,
            max_participants=self.max_participants,
            max_width=self.max_width,
            max_coordinate=self.max_coordinate,
        )
