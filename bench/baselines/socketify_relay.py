"""Reference: a bare socketify (uWebSockets) relay with no protocol, the room server's transport alone.

Rooms are URL paths (one uWebSockets topic each). By default a frame is queued in the message callback
and published natively, excluding the sender, right after the libuv turn that delivered it (what the
room does), followed by one more libuv iteration that sends it; `--inline` publishes inside the
callback instead. libuv is driven from asyncio through its
backend descriptor, as in services/room (uvbridge.py). Prints "listening <port>" once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from cffi import FFI
from socketify import App, OpCode
from socketify.native import ffi as socketify_ffi
from socketify.native import lib

_ffi = FFI()
_ffi.cdef(
    """
    int uv_backend_fd(const void* loop);
    int uv_backend_timeout(const void* loop);
    int uv_run(void* loop, int mode);
    """
)
_libuv: Any = _ffi.dlopen("libuv.so.1")
_UV_RUN_NOWAIT = 2
_TEXT = OpCode.TEXT
_UNCOMPRESSED = False


class Relay:
    def __init__(self, *, inline: bool) -> None:
        self.app = App(lifespan=False)
        self.outbox: list[tuple[Any, bytes, bytes]] = []
        self.inline = inline
        self.app.ws(
            "/*",
            {
                "compression": 0,
                "max_payload_length": 1 << 20,
                "idle_timeout": 120,
                "max_backpressure": 1 << 20,
                "close_on_backpressure_limit": True,
                "upgrade": self.upgrade,
                "open": self.open,
                "message": self.message,
            },
        )

    def upgrade(self, res: Any, req: Any, context: Any) -> None:
        topic = req.get_url().encode()
        res.upgrade(
            req.get_header("sec-websocket-key"),
            req.get_header("sec-websocket-protocol"),
            req.get_header("sec-websocket-extensions"),
            context,
            {"topic": topic},
        )

    def open(self, ws: Any) -> None:
        data = ws.get_user_data()
        data["ws"] = ws.clone()
        ws.subscribe(data["topic"])

    def message(self, ws: Any, message: str | bytes, _opcode: Any) -> None:
        data = ws.get_user_data()
        frame = message.encode() if isinstance(message, str) else message
        if self.inline:
            lib.uws_ws_publish_with_options(
                self.app.SSL,
                ws.ws,
                data["topic"],
                len(data["topic"]),
                frame,
                len(frame),
                _TEXT,
                _UNCOMPRESSED,
            )
        else:
            self.outbox.append((data["ws"], data["topic"], frame))

    def flush(self) -> None:
        if not self.outbox:
            return
        outbox, self.outbox = self.outbox, []
        ssl = self.app.SSL
        for ws, topic, frame in outbox:
            lib.uws_ws_publish_with_options(
                ssl, ws.ws, topic, len(topic), frame, len(frame), _TEXT, _UNCOMPRESSED
            )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inline", action="store_true", help="publish inside the message callback")
    args = parser.parse_args()
    relay = Relay(inline=args.inline)
    loop = asyncio.get_running_loop()
    listening = loop.create_future()
    relay.app.listen({"port": int(os.environ.get("PORT", "0")), "host": "127.0.0.1"}, listening.set_result)
    native = relay.app.loop.get_native_loop()
    uv_loop = _ffi.cast("void *", int(socketify_ffi.cast("uintptr_t", native)))
    timer: list[asyncio.TimerHandle | None] = [None]

    def turn() -> None:
        _libuv.uv_run(uv_loop, _UV_RUN_NOWAIT)
        if relay.outbox:
            relay.flush()
            # uWebSockets sends what was published to its topics in the loop's post handler: run one more
            # iteration now, or the last frames of a burst wait for the next event (a timer, seconds away).
            _libuv.uv_run(uv_loop, _UV_RUN_NOWAIT)
        if timer[0] is not None:
            timer[0].cancel()
            timer[0] = None
        timeout = _libuv.uv_backend_timeout(uv_loop)
        if timeout == 0:
            loop.call_soon(turn)
        elif timeout > 0:
            timer[0] = loop.call_later(timeout / 1000, turn)

    loop.add_reader(_libuv.uv_backend_fd(uv_loop), turn)
    turn()
    config = await asyncio.wait_for(listening, 5)
    print(f"listening {config.port}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    loop.remove_reader(_libuv.uv_backend_fd(uv_loop))


if __name__ == "__main__":
    asyncio.run(main())
