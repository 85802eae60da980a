"""Bounded exports: at most `max_concurrent_exports` boards are loaded and drawn at once, and at most
`export_queue` more wait for a turn; past that an export is answered 503 with Retry-After at once.

A PNG of a large board holds the board and its image in memory (bench: up to ~600 MB for a 50,000-stroke
board), so four at once took 2.4 GB: the memory an export may take is bounded by how many run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from drawnet.drawing import metrics
from drawnet.drawing.errors import UnavailableError

RETRY_AFTER_SECONDS = 2


class ExportGate:
    def __init__(self, concurrent: int, queue: int) -> None:
        self.concurrent = concurrent
        self.queue = queue
        self._turns = asyncio.Semaphore(concurrent)
        self._inside = 0
        """Exports running or waiting for a turn."""

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._inside >= self.concurrent + self.queue:
            metrics.RATE_LIMITED.labels("export_queue").inc()
            raise UnavailableError(
                f"{self._inside} exports running or waiting: max_concurrent_exports {self.concurrent} "
                f"and export_queue {self.queue}; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                limit="export_queue",
            )
        self._inside += 1
        try:
            async with self._turns:
                yield
        finally:
            self._inside -= 1
