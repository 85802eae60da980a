"""A scripted protocol client: what a browser does, as an API for tests and the load generator."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
from collections.abc import Callable, Sequence
from typing import Self, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection

from drawnet.protocol import (
    PROTOCOL_VERSION,
    Ack,
    AddStroke,
    Begin,
    Board,
    Committed,
    Hello,
    Nack,
    Op,
    Points,
    Renew,
    Renewed,
    ServerMessage,
    Submit,
    Welcome,
    decode_server,
    encode,
)
from drawnet.protocol.messages import Point

M = TypeVar("M")


class RoomClient:
    """One participant: joins, draws, and keeps a board built only from what the room sent."""

    def __init__(self, ws: ClientConnection, client_id: str) -> None:
        self.ws = ws
        self.client_id = client_id
        self.board = Board()
        self.received: list[ServerMessage] = []
        self.welcome: Welcome | None = None
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.pending: dict[str, Op] = {}
        """The outbox: ops sent and not yet answered, resent by `resume()` after a reconnect."""
        self.acked: dict[str, int] = {}
        """Every op of ours the room acknowledged, with its sequence number."""
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._counter = itertools.count(1)

    @classmethod
    async def join(  # noqa: PLR0913 - every option of a hello, by name
        cls,
        room_url: str,
        session: str,
        *,
        name: str = "tester",
        color: str = "#1e1e1e",
        client_id: str | None = None,
        since: int = 0,
        board: Board | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        sock: socket.socket | None = None,
        headers: dict[str, str] | None = None,
    ) -> Self:
        """Connect, say hello and wait for the welcome (pass `board` and `since` to resume).

        `sock`: an already connected socket to speak over (a test's small receive buffer, say);
        `headers`: more headers of the upgrade request (what a proxy adds, say).
        """
        client_id = client_id or f"c-{secrets.token_hex(4)}"
        url = f"{room_url}/rooms/{session}"
        ws = await websockets.connect(
            url, open_timeout=timeout, max_size=None, sock=sock, additional_headers=headers
        )
        client = cls(ws, client_id)
        if board is not None:
            client.board = board
        client._reader = asyncio.get_running_loop().create_task(client._read())
        hello = Hello(v=PROTOCOL_VERSION, client=client_id, name=name, color=color, since=since, token=token)
        try:
            await ws.send(encode(hello))
            await client.wait_for(lambda m: m if isinstance(m, Welcome) else None, timeout=timeout)
        except BaseException:
            await client.close()  # refused (or timed out): nothing of it stays open
            raise
        return client

    @classmethod
    async def connect_raw(
        cls,
        room_url: str,
        session: str,
        *,
        sock: socket.socket | None = None,
        headers: dict[str, str] | None = None,
    ) -> Self:
        """A connection that has said nothing yet (for tests of what the room does with bad input)."""
        ws = await websockets.connect(
            f"{room_url}/rooms/{session}", max_size=None, sock=sock, additional_headers=headers
        )
        client = cls(ws, f"raw-{secrets.token_hex(4)}")
        client._reader = asyncio.get_running_loop().create_task(client._read())
        return client

    @property
    def me(self) -> str:
        assert self.welcome is not None
        return self.welcome.you.id

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                message = decode_server(frame)
                self._apply(message)
                async with self._changed:
                    self.received.append(message)
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""
            async with self._changed:
                self._changed.notify_all()

    def _apply(self, message: ServerMessage) -> None:
        if isinstance(message, Ack):
            self.pending.pop(message.id, None)
            self.acked[message.id] = message.seq
        elif isinstance(message, Nack):
            self.pending.pop(message.id, None)
        elif isinstance(message, Welcome):
            self.welcome = message
            if message.snapshot is not None:
                self.board = Board.from_state(message.snapshot)
            for committed in message.ops:
                self.board.apply(committed)
        elif isinstance(message, Committed):
            self.board.apply(message)

    async def wait_for(self, match: Callable[[ServerMessage], M | None], *, timeout: float = 10.0) -> M:
        """The first received message (past or future) for which `match` returns something."""
        async with asyncio.timeout(timeout), self._changed:
            seen = 0
            while True:
                for message in self.received[seen:]:
                    found = match(message)
                    if found is not None:
                        return found
                seen = len(self.received)
                if self._reader is not None and self._reader.done():
                    raise ConnectionError(f"connection closed: {self.close_code} {self.close_reason}")
                await self._changed.wait()

    async def wait_closed(self, *, timeout: float = 10.0) -> tuple[int | None, str]:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code, self.close_reason

    def new_id(self) -> str:
        return f"{self.client_id}-{next(self._counter)}"

    async def send(self, frame: bytes | str) -> None:
        await self.ws.send(frame)

    async def send_op(self, op: Op) -> None:
        """Send a durable op and keep it in the outbox until the room answers."""
        self.pending[op.id] = op
        await self.ws.send(encode(Submit(op=op)))

    async def submit(self, op: Op, *, timeout: float = 10.0) -> Ack | Nack:
        """Send a durable op and wait for the room's answer to it."""
        await self.send_op(op)
        return await self.wait_for(
            lambda m: m if isinstance(m, Ack | Nack) and m.id == op.id else None, timeout=timeout
        )

    async def renew(self, token: str, *, timeout: float = 10.0) -> Renewed:
        """Hand the room a fresh join token on this connection, and wait for its answer."""
        await self.ws.send(encode(Renew(token=token)))
        return await self.wait_for(lambda m: m if isinstance(m, Renewed) else None, timeout=timeout)

    async def draw_stroke(
        self,
        points: Sequence[Point],
        *,
        color: str = "#1e1e1e",
        width: float = 4.0,
        batch: int = 32,
        stroke_id: str | None = None,
    ) -> Ack | Nack:
        """Draw like a browser: begin, live points in batches, then commit the stroke as a durable op."""
        stroke_id = stroke_id or self.new_id()
        await self.ws.send(encode(Begin(stroke=stroke_id, tool="pen", color=color, width=width)))
        for start in range(0, len(points), batch):
            await self.ws.send(encode(Points(stroke=stroke_id, pts=list(points[start : start + batch]))))
        op = AddStroke(id=stroke_id, tool="pen", color=color, width=width, opacity=1.0, pts=list(points))
        return await self.submit(op)

    async def resume(
        self, room_url: str, session: str, *, token: str | None = None, timeout: float = 10.0
    ) -> Self:
        """Reconnect as a browser does after losing the room: from our board's seq, then resend the outbox."""
        again = await type(self).join(
            room_url,
            session,
            name=self.welcome.you.name if self.welcome else "tester",
            client_id=self.client_id,
            since=self.board.seq,
            board=self.board,
            token=token,
            timeout=timeout,
        )
        again.acked = self.acked
        again._counter = self._counter  # noqa: SLF001 - the same client keeps numbering its ops
        for op in list(self.pending.values()):
            await again.send_op(op)
        return again

    async def close(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def line(n: int, *, x0: float = 0.0, y0: float = 0.0, step: float = 1.0) -> list[Point]:
    """n points of a straight stroke (test data)."""
    return [(x0 + i * step, y0 + i * step / 2, 0.5) for i in range(n)]
