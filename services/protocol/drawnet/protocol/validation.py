"""Checks against the configured limits, which the decoder's static caps cannot know.

Each check raises LimitError with the limit's name and both numbers, e.g.
"stroke of 5001 points exceeds max_points_per_stroke 5000".
"""

from __future__ import annotations

from drawnet.protocol.errors import CloseCode, ProtocolError
from drawnet.protocol.limits import Limits
from drawnet.protocol.messages import AddStroke, Begin, Op, Point, Points


class LimitError(ProtocolError):
    """A named limit was exceeded; for durable ops this becomes a nack, for live traffic a close."""

    def __init__(self, limit: str, reason: str) -> None:
        super().__init__(CloseCode.LIMIT_EXCEEDED, reason)
        self.limit = limit


def _check_points(points: list[Point], limits: Limits) -> None:
    bound = limits.max_coordinate
    for x, y, _ in points:
        if not (-bound <= x <= bound and -bound <= y <= bound):
            raise LimitError("max_coordinate", f"point ({x}, {y}) is outside max_coordinate {bound}")


def check_op(op: Op, limits: Limits) -> None:
    if isinstance(op, AddStroke):
        if (points := len(op.pts)) > (limit := limits.max_points_per_stroke):
            raise LimitError(
                "max_points_per_stroke", f"stroke of {points} points exceeds max_points_per_stroke {limit}"
            )
        if op.width > limits.max_width:
            raise LimitError("max_width", f"width {op.width} exceeds max_width {limits.max_width}")
        _check_points(op.pts, limits)


def check_live(message: Begin | Points, limits: Limits) -> None:
    if isinstance(message, Points):
        if len(message.pts) > limits.max_points_per_message:
            raise LimitError(
                "max_points_per_message",
                f"{len(message.pts)} points in one message exceed max_points_per_message "
                f"{limits.max_points_per_message}",
            )
        _check_points(message.pts, limits)
    elif message.width > limits.max_width:
        raise LimitError("max_width", f"width {message.width} exceeds max_width {limits.max_width}")
