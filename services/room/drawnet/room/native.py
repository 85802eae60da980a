"""The one uWebSockets callback the room takes over from socketify: inbound messages.

socketify's message callback wraps every frame in a new `WebSocket` object, an `OpCode` enum and a
decoded `str` before calling the handler, and looks up whether the handler is a coroutine, for every
message. The room needs none of it: its handler gets the native WebSocket pointer and the frame's bytes.
Everything else (upgrade, open, drain, close: once per connection) stays socketify's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import socketify.socketify as socketify_module
from socketify.native import ffi, lib

log = logging.getLogger(__name__)

RawMessageHandler = Callable[[Any, bytes], None]
"""Called with the native WebSocket pointer and the frame's payload."""


@ffi.callback("void(uws_websocket_t*, const char*, size_t, uws_opcode_t, void*)")  # type: ignore[untyped-decorator]
def _on_message(ws: Any, message: Any, length: int, _opcode: int, user_data: Any) -> None:
    try:
        handlers, _app = ffi.from_handle(user_data)
        handlers.message(ws, ffi.unpack(message, length))
    except Exception:
        log.exception("message handler failed")


@contextlib.contextmanager
def raw_message_callback() -> Iterator[None]:
    """While active, `App.ws(...)` routes messages to `behavior["message"](ws_pointer, payload)`."""
    original = socketify_module.uws_websocket_message_handler
    socketify_module.uws_websocket_message_handler = _on_message
    try:
        yield
    finally:
        socketify_module.uws_websocket_message_handler = original


def user_data(ssl: Any, ws: Any) -> Any:
    """The object a connection was upgraded with (socketify keeps it behind a cffi handle)."""
    data, _id = ffi.from_handle(lib.uws_ws_get_user_data(ssl, ws))
    return data
