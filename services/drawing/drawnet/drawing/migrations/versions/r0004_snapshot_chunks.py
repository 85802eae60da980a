"""Snapshots in chunks: a head per board (undo history, chunk keys) and runs of strokes.

A snapshot rewritten whole every few thousand ops cost the persister more as its board grew (a 10,000-
stroke board is megabytes of JSON; bench/persistence). Its strokes now live in chunks that are written
again only when one of their strokes changes. Snapshots are derived data: the old ones are dropped and
written again in the new form from the ops (by the persister, or by the first reader of a long tail).
Like the heads, the chunks are an unlogged, uncompressed cache in PostgreSQL (see 0003).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM snapshots")
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("snapshots") as table:
        table.add_column(sa.Column("layout", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("snapshots") as table:
        table.alter_column("layout", server_default=None)
    op.create_table(
        "snapshot_chunks",
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("session", sa.String(length=63), nullable=False),
        sa.Column("chunk", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "session", "chunk"),
        prefixes=["UNLOGGED"] if postgresql else [],
    )
    if postgresql:
        op.execute("ALTER TABLE snapshot_chunks ALTER COLUMN body SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("snapshot_chunks")
    op.execute("DELETE FROM snapshots")
    with op.batch_alter_table("snapshots") as table:
        table.drop_column("layout")
