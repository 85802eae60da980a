"""The Drawnet wire protocol: every message, limit and close code, and the board they build.

This package is pure: it imports msgspec and the standard library only (an import-linter contract
keeps it so), which is why the room, the drawing service, the load generator and the tests can all
share it.
"""

from drawnet.protocol.board import Board, Stroke
from drawnet.protocol.codec import (
    decode_client,
    decode_record,
    decode_server,
    encode,
)
from drawnet.protocol.errors import CloseCode, ProtocolError
from drawnet.protocol.limits import Limits
from drawnet.protocol.messages import (
    PROTOCOL_VERSION,
    Ack,
    AddStroke,
    Begin,
    ClearBoard,
    ClientMessage,
    Committed,
    Erase,
    Hello,
    Joined,
    Left,
    Nack,
    Op,
    OpRecord,
    Participant,
    Points,
    ServerMessage,
    Submit,
    Welcome,
)
from drawnet.protocol.subjects import OPS_STREAM, live_subject, ops_subject, valid_name

__all__ = [
    "OPS_STREAM",
    "PROTOCOL_VERSION",
    "Ack",
    "AddStroke",
    "Begin",
    "Board",
    "ClearBoard",
    "ClientMessage",
    "CloseCode",
    "Committed",
    "Erase",
    "Hello",
    "Joined",
    "Left",
    "Limits",
    "Nack",
    "Op",
    "OpRecord",
    "Participant",
    "Points",
    "ProtocolError",
    "ServerMessage",
    "Stroke",
    "Submit",
    "Welcome",
    "decode_client",
    "decode_record",
    "decode_server",
    "encode",
    "live_subject",
    "ops_subject",
    "valid_name",
]
