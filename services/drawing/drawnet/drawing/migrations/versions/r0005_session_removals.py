"""Kicks and bans: who an owner took out of a session, and since when.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_removals",
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("session", sa.String(length=63), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("by", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "session", "subject", "kind"),
    )


def downgrade() -> None:
    op.drop_table("session_removals")
