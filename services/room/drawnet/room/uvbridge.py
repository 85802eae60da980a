"""Drive socketify's libuv loop from asyncio without busy-polling.

socketify's own `App.run()` polls libuv from asyncio with `call_soon` in a loop, which keeps a core busy
whenever there is traffic and wakes the process even when idle. libuv was built to be embedded: its
backend (epoll) file descriptor becomes readable whenever any of its handles has work, and
`uv_backend_timeout` says when its next timer is due. So asyncio watches that one descriptor and that one
deadline and runs `uv_run(UV_RUN_NOWAIT)` only then. Both loops share the thread: uWebSockets callbacks
and asyncio tasks (nats-py) never run at the same time.

After each libuv turn the bridge calls `after_turn`: the room publishes what the turn's message callbacks
queued there, outside uWebSockets' callbacks (publishing from inside them was measured far slower). When it
published anything, libuv gets one more non-blocking turn at once: uWebSockets writes published frames out
in its loop's post-iteration hook, so without that turn they would wait for the next event or timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cffi import FFI
from socketify.native import ffi as socketify_ffi

_ffi = FFI()
_ffi.cdef(
    """
    int uv_backend_fd(const void* loop);
    int uv_backend_timeout(const void* loop);
    int uv_run(void* loop, int mode);
    """
)
# socketify's native library links the system libuv (Debian's libuv1): this is the same copy.
_libuv: Any = _ffi.dlopen("libuv.so.1")
_UV_RUN_NOWAIT = 2


class UVBridge:
    """Runs the libuv loop behind `native_loop` whenever asyncio sees it has work."""

    def __init__(
        self, native_loop: Any, after_turn: Callable[[], bool], before_turn: Callable[[], None] | None = None
    ) -> None:
        address = int(socketify_ffi.cast("uintptr_t", native_loop))
        self._uv_loop = _ffi.cast("void *", address)
        self._after_turn = after_turn
        self._before_turn = before_turn or (lambda: None)
        self._loop = asyncio.get_running_loop()
        self._fd: int = _libuv.uv_backend_fd(self._uv_loop)
        self._timer: asyncio.TimerHandle | None = None
        self._soon: asyncio.Handle | None = None
        self._closed = False

    def start(self) -> None:
        self._loop.add_reader(self._fd, self.turn)
        self.turn()

    def wake(self) -> None:
        """Ask for a libuv turn soon: after asyncio code changed uWebSockets' state (sent, closed...)."""
        if self._soon is None and not self._closed:
            self._soon = self._loop.call_soon(self.turn)

    def turn(self) -> None:
        if self._closed:
            return
        self._soon = None
        self._before_turn()
        _libuv.uv_run(self._uv_loop, _UV_RUN_NOWAIT)
        if self._after_turn():
            # Let uWebSockets write what was just published; frames that arrive meanwhile are queued and
            # published on the next turn, which wake() schedules.
            _libuv.uv_run(self._uv_loop, _UV_RUN_NOWAIT)
            if self._after_turn():
                self.wake()
        self._schedule_timer()

    def _schedule_timer(self) -> None:
        timeout_ms = _libuv.uv_backend_timeout(self._uv_loop)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if timeout_ms == 0:
            self.wake()
        elif timeout_ms > 0:
            self._timer = self._loop.call_later(timeout_ms / 1000, self.turn)
        # -1: no timers pending; the descriptor alone will wake us.

    def close(self) -> None:
        self._closed = True
        self._loop.remove_reader(self._fd)
        if self._timer is not None:
            self._timer.cancel()
        if self._soon is not None:
            self._soon.cancel()
