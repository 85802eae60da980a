"""The op log in SQL: every durable op once, keyed by its op-log sequence number.

The schema the first drawing service made with create_all(): a database from then is stamped at this
revision and upgraded from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("session", sa.String(length=63), nullable=False),
        sa.Column("op_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("namespace", "session", "op_id", name="uq_ops_session_op_id"),
    )
    op.create_index("ix_ops_session_seq", "ops", ["namespace", "session", "seq"])


def downgrade() -> None:
    op.drop_index("ix_ops_session_seq", table_name="ops")
    op.drop_table("ops")
