"""Snapshots as a cache in PostgreSQL: unlogged, uncompressed.

A snapshot is derived data (its board's ops are in `ops`) rewritten every few thousand ops, megabytes of
JSON each time: written to the WAL (and compressed) it cost the persister more than the ops themselves
(bench/persistence). Unlogged, a crash of PostgreSQL empties the table; boards are then read from their
ops, and the persister and the API write their snapshots again. SQLite has neither WAL-logged tables of
this kind nor compression: nothing to do there.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshots ALTER COLUMN body SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE snapshots SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshots SET LOGGED")
        op.execute("ALTER TABLE snapshots ALTER COLUMN body SET STORAGE EXTENDED")
