"""Rate limits every replica of the API shares: counts per minute in the database (SQLite or PostgreSQL).

Each limit counts hits per key (a client address, a user name) in fixed one-minute windows, one row per
(limit, key, window), incremented with an upsert. The rate a request sees is the current window's count
plus the previous window's, weighted by how much of it still overlaps the last sixty seconds: a sliding
minute, without a row per hit. Several replicas of the API share one database, so they share the count.
"""

from __future__ import annotations

import math
import random
import time

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing import metrics
from drawnet.drawing.errors import RateLimitedError
from drawnet.drawing.models import RateWindowRow

WINDOW_SECONDS = 60
MAX_KEY_LENGTH = 200
CLEANUP_EVERY = 50
"""About one hit in this many also deletes the windows that no longer count (of every key)."""


class RateLimit:
    def __init__(self, engine: AsyncEngine, name: str, per_minute: int) -> None:
        self.engine = engine
        self.name = name
        self.per_minute = per_minute

    async def hit(self, key: str, now: float | None = None) -> None:
        """Count one attempt for `key`, or raise RateLimitedError when the last minute is full."""
        now = time.time() if now is None else now
        window = int(now // WINDOW_SECONDS)
        key = key[:MAX_KEY_LENGTH]
        async with self.engine.begin() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            values = insert(RateWindowRow).values(limit=self.name, key=key, window=window, count=1)
            counted = values.on_conflict_do_update(
                index_elements=["limit", "key", "window"], set_={"count": col(RateWindowRow.count) + 1}
            ).returning(col(RateWindowRow.count))
            current = int((await conn.execute(counted)).scalar_one())
            previous = (
                await conn.execute(
                    select(col(RateWindowRow.count)).where(
                        col(RateWindowRow.limit) == self.name,
                        col(RateWindowRow.key) == key,
                        col(RateWindowRow.window) == window - 1,
                    )
                )
            ).scalar_one_or_none() or 0
            if random.randrange(CLEANUP_EVERY) == 0:  # noqa: S311 - not a secret
                await conn.execute(
                    delete(RateWindowRow).where(
                        col(RateWindowRow.limit) == self.name, col(RateWindowRow.window) < window - 1
                    )
                )
        overlap = 1.0 - (now % WINDOW_SECONDS) / WINDOW_SECONDS
        seen = current + previous * overlap
        if seen > self.per_minute:
            metrics.RATE_LIMITED.labels(self.name).inc()
            retry = max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))
            raise RateLimitedError(
                self.name,
                f"more than {self.name} {self.per_minute} in a minute; retry in {retry} s",
                retry_after=retry,
            )


class DistinctLimit:
    """At most `limit` distinct things per key (the open boards one address started) in a sliding
    `window_seconds`, counted in the same table: one row per (key, thing, window). Coming back to a thing
    already counted is always allowed; a new one past the limit is refused and not counted."""

    def __init__(self, engine: AsyncEngine, name: str, limit: int, window_seconds: int) -> None:
        self.engine = engine
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds

    async def hit(self, key: str, thing: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        window = int(now // self.window_seconds)
        key = key[: MAX_KEY_LENGTH // 2]
        row_key = f"{key}/{thing}"[:MAX_KEY_LENGTH]
        mine = (
            col(RateWindowRow.limit) == self.name,
            # Every row of this key: `key/…` ("0" sorts right after "/"), read on the table's key.
            col(RateWindowRow.key) >= f"{key}/",
            col(RateWindowRow.key) < f"{key}0",
        )
        async with self.engine.begin() as conn:
            counted = select(col(RateWindowRow.window), col(RateWindowRow.key)).where(
                *mine, col(RateWindowRow.window) >= window - 1
            )
            rows = (await conn.execute(counted)).tuples().all()
            if any(found == row_key for _, found in rows):
                return  # already counted: coming back to it is free
            current = sum(1 for at, _ in rows if at == window)
            previous = len(rows) - current
            overlap = 1.0 - (now % self.window_seconds) / self.window_seconds
            if current + previous * overlap + 1 > self.limit:
                metrics.RATE_LIMITED.labels(self.name).inc()
                retry = max(1, math.ceil(self.window_seconds - now % self.window_seconds))
                raise RateLimitedError(
                    self.name,
                    f"more than {self.name} {self.limit} started in {self.window_seconds} s; "
                    f"retry in {retry} s, or join one you started",
                    retry_after=retry,
                )
            await conn.execute(
                RateWindowRow.__table__.insert().values(  # type: ignore[attr-defined]
                    limit=self.name, key=row_key, window=window, count=1
                )
            )
            if random.randrange(CLEANUP_EVERY) == 0:  # noqa: S311 - not a secret
                await conn.execute(
                    delete(RateWindowRow).where(
                        col(RateWindowRow.limit) == self.name, col(RateWindowRow.window) < window - 1
                    )
                )
