"""The database: engine, migrations, and the op-log and snapshot queries the persister and the API share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import col

from drawnet.drawing.models import OpRow, SnapshotRow

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
"""The revision whose schema the drawing service made with create_all() before it had migrations."""
_MIGRATION_LOCK = 0x64726177  # "draw": one PostgreSQL advisory lock, so replicas migrate one at a time


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
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "ops" in tables and "alembic_version" not in tables:
        command.stamp(config, BASELINE)  # a database from before migrations: it has revision 0001's schema
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the latest revision (in one transaction; PostgreSQL replicas take turns)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def upsert(conn: AsyncConnection | AsyncEngine, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL both speak it)."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


async def insert_ops(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store ops exactly once: a row whose seq (or session + op id) is already there is skipped."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # One statement for the whole batch, its columns as arrays: PostgreSQL plans and executes one INSERT
        # instead of one per row (an executemany was most of the persister's time: bench/persistence).
        await conn.execute(_INSERT_OPS_UNNEST, {name: [row[name] for row in rows] for name in _OP_COLUMNS})
        return
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues").
    statement = upsert(conn, OpRow).on_conflict_do_nothing()
    await conn.execute(statement, list(rows))


_OP_COLUMNS = {
    "seq": "BIGINT",
    "namespace": "VARCHAR",
    "session": "VARCHAR",
    "op_id": "VARCHAR",
    "kind": "VARCHAR",
    "author": "VARCHAR",
    "ts": "FLOAT8",
    "body": "BYTEA",
}
_INSERT_OPS_UNNEST = text(
    f"INSERT INTO ops ({', '.join(_OP_COLUMNS)}) "  # noqa: S608 - fixed column names, no input
    f"SELECT * FROM unnest({', '.join(f'CAST(:{name} AS {kind}[])' for name, kind in _OP_COLUMNS.items())}) "
    "ON CONFLICT DO NOTHING"
)


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


async def recent_op_ids(engine: AsyncEngine, namespace: str, session: str, limit: int) -> dict[str, int]:
    """The latest `limit` op ids of a board with their seq, oldest first."""
    if limit == 0:
        return {}
    query = (
        select(col(OpRow.op_id), col(OpRow.seq))
        .where(col(OpRow.namespace) == namespace, col(OpRow.session) == session)
        .order_by(col(OpRow.seq).desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {str(op_id): int(seq) for op_id, seq in reversed(rows)}


async def last_seq(engine: AsyncEngine, namespace: str, session: str) -> int:
    """The seq of a board's last stored op (0: none)."""
    query = select(func.max(col(OpRow.seq))).where(
        col(OpRow.namespace) == namespace, col(OpRow.session) == session
    )
    async with engine.connect() as conn:
        last = (await conn.execute(query)).scalar_one()
    return int(last or 0)


async def board_stats(engine: AsyncEngine, namespace: str, session: str) -> tuple[int, int]:
    """(ops stored, last seq) of one board."""
    query = select(func.count(), func.max(col(OpRow.seq))).where(
        col(OpRow.namespace) == namespace, col(OpRow.session) == session
    )
    async with engine.connect() as conn:
        count, last = (await conn.execute(query)).one()
    return int(count), int(last or 0)


async def boards_with_ops(engine: AsyncEngine, namespace: str) -> list[tuple[str, int, int]]:
    """(session, ops, last seq) for every board with ops in `namespace`."""
    query = (
        select(col(OpRow.session), func.count(), func.max(col(OpRow.seq)))
        .where(col(OpRow.namespace) == namespace)
        .group_by(col(OpRow.session))
        .order_by(col(OpRow.session))
    )
    async with engine.connect() as conn:
        return [(row[0], row[1], row[2]) for row in await conn.execute(query)]


async def load_snapshot(engine: AsyncEngine, namespace: str, session: str) -> SnapshotRow | None:
    query = select(SnapshotRow).where(
        col(SnapshotRow.namespace) == namespace, col(SnapshotRow.session) == session
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return SnapshotRow.model_validate(row._mapping) if row is not None else None  # noqa: SLF001


async def save_snapshot(conn: AsyncConnection, snapshot: SnapshotRow) -> None:
    """Insert or replace a board's snapshot, unless the stored one is already newer."""
    values = snapshot.model_dump()
    statement = upsert(conn, SnapshotRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["namespace", "session"],
        set_={key: statement.excluded[key] for key in ("seq", "strokes", "body", "updated_at")},
        where=SnapshotRow.__table__.c.seq < statement.excluded.seq,  # type: ignore[attr-defined]
    )
    await conn.execute(statement)
