"""`python -m drawnet.room`: run a room server with settings from the environment."""

from __future__ import annotations

import asyncio
import logging

from drawnet.room.server import serve
from drawnet.room.settings import RoomSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s room %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(RoomSettings()))


if __name__ == "__main__":
    main()
