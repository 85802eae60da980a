"""Baseline: a Python `websockets` (asyncio) broadcast relay; rooms are URL paths.

Every text frame goes as it is to everyone else in the room through `websockets.broadcast`, which writes
without awaiting each peer. Prints "listening <port>" once ready.
"""

from __future__ import annotations

import asyncio
import os
import signal

import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = {}


async def relay(ws: ServerConnection) -> None:
    name = ws.request.path if ws.request is not None else "/"
    room = rooms.setdefault(name, set())
    room.add(ws)
    try:
        async for message in ws:
            broadcast([peer for peer in room if peer is not ws], message)
    except websockets.ConnectionClosed:
        pass
    finally:
        room.discard(ws)
        if not room:
            rooms.pop(name, None)


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        relay, "127.0.0.1", int(os.environ.get("PORT", "0")), compression=None, max_size=1 << 20
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
