"""The database: engine, schema, and the queries the API and the persister need."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel, col

from drawnet.drawing.models import OpRow


def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL lets the API read while the persister writes; NORMAL sync is durable in WAL mode
            # up to the last checkpoint-free commit, and the op log (JetStream) is the source of truth.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def insert_ops(engine: AsyncEngine, rows: Sequence[OpRow]) -> None:
    """Store ops exactly once: a row whose seq (or session + op id) is already there is skipped."""
    if not rows:
        return
    values = [row.model_dump() for row in rows]
    dialect = engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OpRow).values(values).on_conflict_do_nothing()
    async with engine.begin() as conn:
        await conn.execute(statement)


async def ops_after(
    engine: AsyncEngine, namespace: str, session: str, after: int, limit: int
) -> Sequence[OpRow]:
    query = (
        select(OpRow)
        .where(col(OpRow.namespace) == namespace, col(OpRow.session) == session, col(OpRow.seq) > after)
        .order_by(col(OpRow.seq))
        .limit(limit)
    )
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [OpRow.model_validate(row._mapping) for row in result]  # noqa: SLF001 - SQLAlchemy's row API


async def sessions_summary(engine: AsyncEngine, namespace: str) -> list[tuple[str, int, int]]:
    """(session, ops, last seq) for every session with ops in `namespace`."""
    query = (
        select(col(OpRow.session), func.count(), func.max(col(OpRow.seq)))
        .where(col(OpRow.namespace) == namespace)
        .group_by(col(OpRow.session))
        .order_by(col(OpRow.session))
    )
    async with engine.connect() as conn:
        return [(row[0], row[1], row[2]) for row in await conn.execute(query)]
