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
    BoardState,
    ClearBoard,
    ClientMessage,
    Committed,
    Cursor,
    Effect,
    Erase,
    Hello,
    Joined,
    Left,
    Live,
    Nack,
    Op,
    OpRecord,
    Participant,
    Points,
    Presence,
    Redo,
    ServerMessage,
    StrokeEntry,
    Submit,
    Undo,
    View,
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
    "BoardState",
    "ClearBoard",
    "ClientMessage",
    "CloseCode",
    "Committed",
    "Cursor",
    "Effect",
    "Erase",
    "Hello",
    "Joined",
    "Left",
    "Limits",
    "Live",
    "Nack",
    "Op",
    "OpRecord",
    "Participant",
    "Points",
    "Presence",
    "ProtocolError",
    "Redo",
    "ServerMessage",
    "Stroke",
    "StrokeEntry",
    "Submit",
    "Undo",
    "View",
    "Welcome",
    "decode_client",
    "decode_record",
    "decode_server",
    "encode",
    "live_subject",
    "ops_subject",
    "valid_name",
]
