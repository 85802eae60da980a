"""The tables of the system of record. Alembic migrations (`migrations/versions`) create them; a test
checks that the migrations and these models describe the same schema on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class OpRow(SQLModel, table=True):
    """One durable op, exactly once: its op-log sequence number is the key."""

    __tablename__ = "ops"
    __table_args__ = (
        UniqueConstraint("namespace", "session", "op_id", name="uq_ops_session_op_id"),
        Index("ix_ops_session_seq", "namespace", "session", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    namespace: str = Field(max_length=63)
    session: str = Field(max_length=63)
    op_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    author: str = Field(max_length=64)
    ts: float
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """The op as the protocol encodes it (JSON)."""


class SnapshotRow(SQLModel, table=True):
    """A board materialized at `seq`, so nobody replays a long history: this head, and its strokes in
    `SnapshotChunkRow`s (see `snapshots.py`)."""

    __tablename__ = "snapshots"

    namespace: str = Field(max_length=63, primary_key=True)
    session: str = Field(max_length=63, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    strokes: int
    """How many strokes the board holds at `seq`."""
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """The board's undo history and the keys of its chunks, in order (JSON, `snapshots._Head`)."""
    layout: int = Field(sa_column=Column(BigInteger, nullable=False))
    """Which chunking of the strokes this is: made anew by every whole write, kept by writes of changed
    chunks, which apply only to the layout they were made for."""
    updated_at: float


class SnapshotChunkRow(SQLModel, table=True):
    """A run of consecutive strokes of a snapshot: written again only when one of its strokes changes."""

    __tablename__ = "snapshot_chunks"

    namespace: str = Field(max_length=63, primary_key=True)
    session: str = Field(max_length=63, primary_key=True)
    chunk: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    """The seq of the stroke that opened it: chunks in key order are the strokes in board order."""
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """Its strokes (`StrokeEntry`s), each as the protocol encodes it, joined by commas."""


class SessionRow(SQLModel, table=True):
    """A drawing session created through the API (the embedded backend's record of it)."""

    __tablename__ = "sessions"

    namespace: str = Field(max_length=63, primary_key=True)
    name: str = Field(max_length=63, primary_key=True)
    title: str = Field(max_length=200)
    owner: str | None = Field(default=None, max_length=32, index=True)
    """The user who created it (None: created by the platform, e.g. archived before anyone claimed it)."""
    visibility: str = Field(max_length=16)
    """`public` (listed, anyone may join) or `private` (the owner and holders of a share link)."""
    allow_guests: bool
    """Whether people without an account may join with a display name."""
    max_participants: int
    idle_timeout_seconds: int
    created_at: float
    archived: bool = False
    archived_at: float | None = None


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(max_length=32, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    """Lower case: user names are unique regardless of case."""
    display_name: str = Field(max_length=64)
    password_hash: str = Field(max_length=255)
    """argon2id, with its parameters (PHC string)."""
    created_at: float


class LoginRow(SQLModel, table=True):
    """One login: the SHA-256 of its bearer token (the cookie holds the same token)."""

    __tablename__ = "logins"

    token_hash: str = Field(max_length=64, primary_key=True)
    user_id: str = Field(max_length=32, foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: float
    expires_at: float


class LoginSessionRow(SQLModel, table=True):
    """A session a login was given join tokens for: logging out revokes them there (they carry the
    login's `lid`). Goes with the login."""

    __tablename__ = "login_sessions"

    token_hash: str = Field(
        max_length=64, primary_key=True, foreign_key="logins.token_hash", ondelete="CASCADE"
    )
    namespace: str = Field(max_length=63, primary_key=True)
    session: str = Field(max_length=63, primary_key=True)


class ShareLinkRow(SQLModel, table=True):
    """A share link an owner minted: whoever presents `<id>.<secret>` may join the session in `role`."""

    __tablename__ = "share_links"
    __table_args__ = (Index("ix_share_links_session", "namespace", "session"),)

    id: str = Field(max_length=16, primary_key=True)
    secret_hash: str = Field(max_length=64)
    """SHA-256 of the link's secret: a stolen database does not give working links."""
    namespace: str = Field(max_length=63)
    session: str = Field(max_length=63)
    role: str = Field(max_length=16)
    created_by: str = Field(max_length=32)
    created_at: float
    expires_at: float
    revoked: bool = False


class RemovalRow(SQLModel, table=True):
    """An owner took someone out of a session: `kick` (their tokens minted up to `at` stop working; they
    may come back through a link or a public board) or `ban` (kept out until the owner lifts it)."""

    __tablename__ = "session_removals"

    namespace: str = Field(max_length=63, primary_key=True)
    session: str = Field(max_length=63, primary_key=True)
    subject: str = Field(max_length=64, primary_key=True)
    """The join token's `sub`: an account id, or `guest:<id>`."""
    kind: str = Field(max_length=8, primary_key=True)
    at: float
    by: str = Field(max_length=32)
    name: str = Field(default="", max_length=64)
    """The display name they had, for the owner's list of bans."""


class RateWindowRow(SQLModel, table=True):
    """Hits on one rate limit for one key (an address, a user name) in one minute (`ratelimit.py`)."""

    __tablename__ = "rate_windows"

    limit: str = Field(max_length=48, primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    window: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    """Minutes since the epoch."""
    count: int


class ImageRow(SQLModel, table=True):
    """A picture uploaded to a board, as stored after its checks (`images.py`): re-encoded, without
    metadata, named by the SHA-256 of these bytes."""

    __tablename__ = "images"

    namespace: str = Field(max_length=63, primary_key=True)
    session: str = Field(max_length=63, primary_key=True)
    digest: str = Field(max_length=64, primary_key=True)
    media_type: str = Field(max_length=32)
    width: int
    height: int
    size: int
    """len(data), so a board's images are counted and listed without reading them."""
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: float
