"""The database: engine, migrations, and the op-log and snapshot queries the persister and the API share."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import col

from drawnet.drawing.models import OpRow, SnapshotChunkRow, SnapshotRow

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


async def max_seq(engine: AsyncEngine) -> int:
    """The greatest seq stored, of any board (0: none)."""
    async with engine.connect() as conn:
        last = (await conn.execute(select(func.max(col(OpRow.seq))))).scalar_one()
    return int(last or 0)


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


_SNAPSHOTS: Table = SnapshotRow.__table__  # type: ignore[attr-defined]
_SNAPSHOT_CHUNKS: Table = SnapshotChunkRow.__table__  # type: ignore[attr-defined]


async def load_snapshot(
    engine: AsyncEngine, namespace: str, session: str
) -> tuple[int, int, bytes, list[tuple[int, bytes]]] | None:
    """A board's snapshot: (seq, layout, head, [(chunk key, chunk body)] in key order), or None.

    One statement, so the head and the chunks come from the same commit (each is a snapshot's own
    rows: two statements could see two different commits)."""
    heads, chunks = _SNAPSHOTS.c, _SNAPSHOT_CHUNKS.c
    query = union_all(
        select(literal(-1, BigInteger).label("chunk"), heads.seq, heads.layout, heads.body).where(
            heads.namespace == namespace, heads.session == session
        ),
        select(chunks.chunk, literal(0, BigInteger), literal(0, BigInteger), chunks.body).where(
            chunks.namespace == namespace, chunks.session == session
        ),
    ).order_by(text("chunk"))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    if not rows or rows[0][0] != -1:
        return None  # no head: no snapshot (a head and its chunks are written and deleted together)
    _, seq, layout, head = rows[0]
    return int(seq), int(layout), bytes(head), [(int(key), bytes(body)) for key, _, _, body in rows[1:]]


@dataclass(frozen=True)
class SnapshotWrite:
    """A board's snapshot to write: whole (`after` None), or the chunks that changed since the one at
    `after` (see `snapshots.py`)."""

    namespace: str
    session: str
    seq: int
    strokes: int
    head: bytes
    layout: int
    chunks: dict[int, bytes]
    """Chunk key -> body: every chunk (whole) or the changed ones."""
    dropped: list[int]
    """Chunks of the snapshot at `after` that no longer hold a stroke."""
    after: int | None

    @property
    def size(self) -> int:
        return len(self.head) + sum(len(body) for body in self.chunks.values())


async def save_snapshot(conn: AsyncConnection, write: SnapshotWrite) -> bool:
    """Write a snapshot: False, writing nothing, when the stored one makes it moot.

    Whole (`after` None): replaces the stored snapshot and all its chunks, unless that one is newer.
    Changes (`after` a seq): its changed chunks, only on the snapshot it was made from (that seq, in the
    same layout).
    """
    heads, chunks = _SNAPSHOTS.c, _SNAPSHOT_CHUNKS.c
    board = (heads.namespace == write.namespace, heads.session == write.session)
    values = {
        "seq": write.seq,
        "strokes": write.strokes,
        "body": write.head,
        "layout": write.layout,
        "updated_at": time.time(),
    }
    if write.after is None:
        statement = upsert(conn, SnapshotRow).values(
            namespace=write.namespace, session=write.session, **values
        )
        statement = statement.on_conflict_do_update(
            index_elements=["namespace", "session"],
            set_={key: statement.excluded[key] for key in values},
            where=heads.seq <= statement.excluded.seq,
        )
        if (await conn.execute(statement)).rowcount != 1:
            return False
        await conn.execute(
            delete(SnapshotChunkRow).where(
                chunks.namespace == write.namespace, chunks.session == write.session
            )
        )
        if write.chunks:
            await conn.execute(
                insert(SnapshotChunkRow),
                [
                    {"namespace": write.namespace, "session": write.session, "chunk": key, "body": body}
                    for key, body in write.chunks.items()
                ],
            )
        return True
    moved = await conn.execute(
        update(SnapshotRow)
        .where(*board, heads.seq == write.after, heads.layout == write.layout)
        .values(**values)
    )
    if moved.rowcount != 1:
        return False
    here = (chunks.namespace == write.namespace, chunks.session == write.session)
    if write.dropped:
        await conn.execute(delete(SnapshotChunkRow).where(*here, chunks.chunk.in_(write.dropped)))
    if write.chunks:
        statement = upsert(conn, SnapshotChunkRow)
        statement = statement.on_conflict_do_update(
            index_elements=["namespace", "session", "chunk"], set_={"body": statement.excluded.body}
        )
        await conn.execute(
            statement,
            [
                {"namespace": write.namespace, "session": write.session, "chunk": key, "body": body}
                for key, body in write.chunks.items()
            ],
        )
    return True
