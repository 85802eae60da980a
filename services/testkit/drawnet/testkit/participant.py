"""Someone who keeps drawing through outages, as the web app does: a lost room is joined again (from the
board's seq, the outbox resent) until one answers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence

import httpx
import websockets

from drawnet.protocol import AddStroke
from drawnet.testkit.client import RoomClient, line
from drawnet.testkit.waiting import eventually_async


class Participant:
    """Draws a small stroke every `interval` seconds while `drawing`; reconnects to `rooms` in turn."""

    def __init__(
        self,
        rooms: Sequence[str] | Callable[[], Sequence[str]],
        session: str,
        name: str,
        token: Callable[[], str],
        *,
        interval: float = 0.1,
    ) -> None:
        self._rooms = rooms
        self.session, self.name = session, name
        self._token = token
        self.interval = interval
        self.client: RoomClient | None = None
        self.drawing = True
        self.reconnects = 0
        self.room = ""
        """The room (URL) it is connected to now."""
        self._turn = itertools.count()

    @property
    def acked(self) -> dict[str, int]:
        return self.client.acked if self.client is not None else {}

    @property
    def pending(self) -> int:
        return len(self.client.pending) if self.client is not None else 0

    def connected(self) -> bool:
        return (
            self.client is not None and self.client.close_code is None and self.client.ws.close_code is None
        )

    def stroke_ids(self) -> set[str]:
        return {stroke.id for stroke in self.client.board.strokes} if self.client is not None else set()

    def _next_room(self) -> str:
        rooms = self._rooms() if callable(self._rooms) else self._rooms
        return rooms[next(self._turn) % len(rooms)]

    async def _connect(self) -> None:
        room = self._next_room()
        if self.client is None:
            self.client = await RoomClient.join(room, self.session, name=self.name, token=self._token())
        else:
            old = self.client
            await old.close()
            self.client = await old.resume(room, self.session, token=self._token(), timeout=5)
            self.reconnects += 1
        self.room = room

    async def run(self, stop: asyncio.Event) -> None:
        """Draw (and reconnect) until `stop` is set; then close."""
        while not stop.is_set():
            try:
                if not self.connected():
                    await self._connect()
                assert self.client is not None
                if self.drawing:
                    op_id = self.client.new_id()
                    pts = line(6, y0=float(len(self.acked)))
                    await self.client.send_op(
                        AddStroke(id=op_id, tool="pen", color="#000000", width=2, opacity=1, pts=pts)
                    )
                await asyncio.sleep(self.interval)
            except (OSError, ConnectionError, TimeoutError, websockets.WebSocketException):
                await asyncio.sleep(0.2)  # the room or its board is not there yet: try again
        if self.client is not None:
            await self.client.close()


def converged(people: Sequence[Participant]) -> bool:
    """Every outbox is empty and every acknowledged op is on every board, all at one seq."""
    acked = {op_id for p in people for op_id in p.acked}
    return all(p.connected() and not p.pending and acked <= p.stroke_ids() for p in people) and (
        len({p.client.board.seq for p in people if p.client is not None}) == 1
    )


async def each_draws(people: Sequence[Participant], more: int, *, timeout: float = 60.0) -> None:
    """Return once each person has `more` acknowledged ops than now."""
    before = [len(p.acked) for p in people]

    async def drawn() -> bool:
        return all(len(p.acked) >= n + more for p, n in zip(people, before, strict=True))

    await eventually_async(drawn, timeout=timeout, what=f"{more} more acks each")


async def stored_ids(http: httpx.AsyncClient, session: str, at_least: int) -> set[str] | None:
    """The ids of the strokes on the session's stored board (the drawing service's API) once there are
    `at_least` of them; None before (or while the service does not answer): `eventually_async`'s way."""
    with contextlib.suppress(httpx.HTTPError):
        board = (await http.get(f"/api/v1/sessions/{session}/board")).json()
        ids = {stroke["id"] for stroke in board["strokes"]}
        return ids if len(ids) >= at_least else None
    return None


def assert_late_joiner_sees_it_all(people: Sequence[Participant], late: RoomClient) -> None:
    """Someone who joins afterwards holds every op anyone had acknowledged, on the very same board."""
    acked = {op_id for p in people for op_id in p.acked}
    assert acked <= {stroke.id for stroke in late.board.strokes}
    assert {p.client.board.state_hash() for p in people if p.client} == {late.board.state_hash()}
