"""What rooms tell the rest of the platform about their sessions (on `drawnet.status.<ns>.<session>`)."""

from __future__ import annotations

import msgspec


class RoomHeartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Published every few seconds by each room replica for each session it hosts."""

    namespace: str
    session: str
    replica: str
    ready: bool
    participants: int
    strokes: int
    seq: int
    last_activity: float
    """Unix time of the last op or live message in the session (0: none since the room started)."""
    ts: float
