"""Checks against the configured limits, which the decoder's static caps cannot know.

Each check raises LimitError with the limit's name and both numbers, e.g.
"stroke of 5001 points exceeds max_points_per_stroke 5000".
"""

from __future__ import annotations

from drawnet.protocol.board import invertible
from drawnet.protocol.errors import CloseCode, ProtocolError
from drawnet.protocol.limits import Limits
from drawnet.protocol.messages import (
    AddNote,
    AddShape,
    AddStroke,
    AddText,
    Begin,
    EditText,
    Laser,
    Live,
    Op,
    Points,
    Sketch,
    Transform,
)


class LimitError(ProtocolError):
    """A named limit was exceeded; for durable ops this becomes a nack, for live traffic a close."""

    def __init__(self, limit: str, reason: str) -> None:
        super().__init__(CloseCode.LIMIT_EXCEEDED, reason)
        self.limit = limit


def check_op(op: Op, limits: Limits) -> None:
    if isinstance(op, AddStroke) and (points := len(op.pts)) > (limit := limits.max_points_per_stroke):
        raise LimitError(
            "max_points_per_stroke", f"stroke of {points} points exceeds max_points_per_stroke {limit}"
        )
    if isinstance(op, AddStroke | AddShape) and op.width > limits.max_width:
        raise LimitError("max_width", f"width {op.width} exceeds max_width {limits.max_width}")
    if isinstance(op, AddText | AddNote | EditText) and (chars := len(op.text)) > limits.max_text_chars:
        raise LimitError(
            "max_text_chars", f"text of {chars} characters exceeds max_text_chars {limits.max_text_chars}"
        )
    if isinstance(op, AddText | AddNote) and op.size > limits.max_font_size:
        raise LimitError("max_font_size", f"font size {op.size} exceeds max_font_size {limits.max_font_size}")
    if isinstance(op, Transform) and not invertible(op.m):
        raise LimitError(
            "singular_transform", f"transform {list(op.m)} cannot be undone: its determinant is 0"
        )


def check_live(message: Live, limits: Limits) -> None:
    if isinstance(message, Points):
        if len(message.pts) > limits.max_points_per_message:
            raise LimitError(
                "max_points_per_message",
                f"{len(message.pts)} points in one message exceed max_points_per_message "
                f"{limits.max_points_per_message}",
            )
    elif isinstance(message, Laser):
        if len(message.pts) > limits.max_laser_points_per_message:
            raise LimitError(
                "max_laser_points_per_message",
                f"{len(message.pts)} laser points in one message exceed max_laser_points_per_message "
                f"{limits.max_laser_points_per_message}",
            )
    elif isinstance(message, Begin) and message.width > limits.max_width:
        raise LimitError("max_width", f"width {message.width} exceeds max_width {limits.max_width}")
    elif isinstance(message, Sketch) and message.shape is not None:
        if message.shape.width > limits.max_width:
            width = message.shape.width
            raise LimitError("max_width", f"width {width} exceeds max_width {limits.max_width}")
        if message.shape.id != message.id:
            raise ProtocolError(CloseCode.MALFORMED, f"sketch {message.id} shows shape {message.shape.id}")
