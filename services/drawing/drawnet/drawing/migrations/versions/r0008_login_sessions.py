"""The sessions each login was given join tokens for, so that logging out revokes them there.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("session", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(["token_hash"], ["logins.token_hash"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", "namespace", "session"),
    )


def downgrade() -> None:
    op.drop_table("login_sessions")
