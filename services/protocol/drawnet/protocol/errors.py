"""Close codes and the one root error of the protocol package."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """WebSocket close codes the room uses; 4000-4999 are ours (RFC 6455 §7.4.2).

    The reason sent with each close says what was wrong, with the numbers involved.
    """

    NORMAL = 1000
    GOING_AWAY = 1001  # the room is draining (SIGTERM): reconnect, another room will take over
    MESSAGE_TOO_BIG = 1009  # a frame over max_frame_bytes
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013  # the op log is unavailable: reconnect and resend the outbox
    MALFORMED = 4000  # the frame is not a valid message for this point of the conversation
    UNSUPPORTED_VERSION = 4001  # hello.v is not a protocol version this room speaks
    HELLO_EXPECTED = 4002  # the first message must be hello, and only the first
    FORBIDDEN = 4003  # the join token does not allow this
    INVALID_SESSION = 4004  # the session name in the URL is not a valid session name
    LIMIT_EXCEEDED = 4005  # a named limit (points per stroke, strokes per board...) was exceeded
    RATE_LIMITED = 4008
    ROOM_FULL = 4009  # max_participants reached
    SLOW_CONSUMER = 4010  # the client does not read fast enough: its buffer went over the limit
    IDLE_TIMEOUT = 4011
    TOKEN_EXPIRED = 4012  # the join token expired and was not renewed: get a new one and reconnect
    REVOKED = 4013  # access was taken back (link revoked, board made private or deleted, guests off)
    KICKED = 4014  # the session's owner removed this participant
    BANNED = 4015  # the session's owner banned this user
    HELLO_TIMEOUT = 4016  # no hello within hello_timeout_seconds of the upgrade


class ProtocolError(Exception):
    """A client broke the protocol: the connection is closed with `code` and `reason`.

    The reason is short (a close frame carries at most 123 bytes of it) and names the numbers.
    """

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        # RFC 6455: the close reason must fit in a 125-byte control frame with the 2-byte code.
        self.reason = reason.encode()[:123].decode(errors="ignore")

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.name}, {self.reason!r})"
