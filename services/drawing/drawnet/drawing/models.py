"""The tables of the system of record."""

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
