"""Encoding and decoding, with the protocol's errors mapped to close codes at this one edge."""

from __future__ import annotations

from typing import Any

import msgspec

from drawnet.protocol.errors import CloseCode, ProtocolError
from drawnet.protocol.messages import ClientMessage, OpRecord, ServerMessage

_client: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_server: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_record = msgspec.json.Decoder(OpRecord)
_encoder = msgspec.json.Encoder()

encode = _encoder.encode
"""Any protocol Struct to JSON bytes."""


def decode_client(frame: bytes | str) -> ClientMessage:
    """Decode one client frame, or raise ProtocolError(MALFORMED) that says what is wrong with it."""
    try:
        return _client.decode(frame)
    except msgspec.ValidationError as error:
        raise ProtocolError(CloseCode.MALFORMED, f"invalid message: {error}") from error
    except msgspec.DecodeError as error:
        raise ProtocolError(CloseCode.MALFORMED, f"not JSON: {error}") from error


def decode_server(frame: bytes | str) -> ServerMessage:
    """Decode one frame from the room (used by the scripted client and the tests)."""
    return _server.decode(frame)


def decode_record(body: bytes) -> OpRecord:
    """Decode an op-log message body."""
    return _record.decode(body)


def to_builtins(message: Any) -> Any:
    """A Struct as plain JSON-compatible Python objects (for the REST API and tests)."""
    return msgspec.to_builtins(message)
