"""Deadlines on reading a request, which uvicorn does not have.

uvicorn closes a keep-alive connection that sends nothing, but the first byte of a request cancels that
timer and nothing replaces it: a client that sends its request head a byte at a time (slowloris), or
announces a body and trickles it, holds a connection and its buffers for as long as it likes. This is
uvicorn's own h11 protocol with two deadlines: a request head must be complete `header_timeout_seconds`
after the connection opened or the previous response ended (a kept-alive connection that sends nothing
is closed sooner, by uvicorn's keep-alive timeout), and the body `body_timeout_seconds` after the head.
A client that misses one is disconnected (the application, if it was reading the body, sees it go).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

Phase = Literal["head", "body"] | None


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines on the request head and body (see the module)."""

    header_timeout: float = 10.0
    body_timeout: float = 120.0
    _phase: Phase = None
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Start the deadline of what the client is sending now, when that changed."""
        state = self.conn.their_state
        phase: Phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None and not self.transport.is_closing():
            seconds = self.header_timeout if phase == "head" else self.body_timeout
            self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: Phase, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        setting = "header_timeout_seconds" if phase == "head" else "body_timeout_seconds"
        log.info(
            "closing a connection from %s: its request %s took more than %s %g",
            self.client[0] if self.client else "?",
            phase,
            setting,
            seconds,
        )
        self.transport.close()


def timed_protocol(header_timeout: float, body_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with these deadlines (uvicorn.run's `http`)."""
    return type(
        "TimedH11Protocol",
        (TimedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
