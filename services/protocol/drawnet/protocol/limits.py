"""Every limit the protocol knows, by name, with its default.

The room's settings carry the configured values (env vars `DRAWNET_ROOM_<NAME>`); the welcome message
tells each client the values in force so the browser can respect them before the server has to say no.
The hard caps are the protocol's absolute maxima: no configuration can go past them, and the decoder
rejects anything larger before any Python object is built for it.
"""

from __future__ import annotations

import msgspec

# Absolute protocol maxima, enforced by the decoder itself (msgspec.Meta constraints).
HARD_MAX_POINTS_PER_STROKE = 20_000
HARD_MAX_ID_LENGTH = 64
HARD_MAX_NAME_LENGTH = 64
HARD_MAX_ERASE_TARGETS = 1_000
HARD_MAX_ITEMS_PER_OP = 1_000
"""Items one erase, transform or reorder names (a selection larger than this goes as several ops)."""
HARD_MAX_TEXT_CHARS = 20_000
HARD_MAX_FONT_SIZE = 1_000.0
HARD_MAX_LASER_POINTS = 1_000
"""Points in one live `laser` message, whatever the room's max_laser_points_per_message says."""
COORDINATE_BOUND = 1_000_000.0
"""The canvas is infinite in intent, finite in floats: |x| and |y| are at most this (decoder-enforced)."""


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits in force in a room; sent to every client in `welcome`."""

    max_frame_bytes: int = 256 * 1024
    """Largest WebSocket frame the room accepts; bigger frames close the connection (1009)."""
    max_points_per_stroke: int = 5_000
    """Points in one committed stroke, and in one stroke's live preview."""
    max_points_per_message: int = 256
    """Points in one live `points` message: clients send in-progress strokes in small batches."""
    max_strokes_per_board: int = 100_000
    """Strokes a board may hold; a stroke past it is refused with a nack."""
    max_participants: int = 50
    """Connections in one session at once; the next one is closed with ROOM_FULL."""
    max_width: float = 200.0
    """Widest pen, in board units (strokes and shapes' outlines)."""
    max_text_chars: int = 4_000
    """Characters in one text or sticky note (hard protocol cap 20000)."""
    max_font_size: float = 400.0
    """Largest font size of a text or note, in board units (hard protocol cap 1000)."""
    max_laser_points_per_message: int = 64
    """Points in one live `laser` message (hard protocol cap 1000): the pointer's trail goes out in small
    batches, never stored."""
