"""Sessions and share links in SQL, and the pluggable backend that brings a session into being.

The embedded backend's session is its row (the embedded room hosts any session on demand). The
Kubernetes backend (`kube_sessions`: a DrawingSession resource per session, whose room the operator runs
and whose board it archives through the archive endpoint) implements the same `SessionBackend`.

Either way the SQL row is the record of ownership, visibility and share links. A session that has no row
(nobody created it through the API) is an *open* session when the backend says so: public, open to guests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing.errors import ConflictError, ForbiddenError, NotFoundError
from drawnet.drawing.models import SessionRow, ShareLinkRow


@dataclass(frozen=True)
class SessionStatus:
    """What the platform observes of a session's room (the Kubernetes backend: the resource's status)."""

    phase: str
    ready: bool
    url: str
    """Where browsers reach the room; empty until the operator has said."""
    participants: int
    strokes: int
    title: str = ""
    """The title the platform has for it (an open session's title, since it has no row)."""


class SessionBackend(Protocol):
    async def create(self, session: SessionRow) -> None: ...

    async def update(self, session: SessionRow) -> None: ...

    async def delete(self, namespace: str, name: str) -> None: ...

    async def is_open(self, namespace: str, name: str) -> bool:
        """Whether `name`, which has no row, is an open session (public, open to guests)."""
        ...

    async def status(self, namespace: str, names: Collection[str] | None = None) -> dict[str, SessionStatus]:
        """The observed status of these sessions (None: of every session the platform runs), by name;
        a session the platform says nothing about is left out."""
        ...

    async def status_elsewhere(
        self, namespaces: Sequence[str], *, but: str
    ) -> dict[tuple[str, str], SessionStatus]:
        """The sessions the platform runs in these other namespaces (`["*"]`: all), but `but`."""
        ...


class EmbeddedBackend:
    """Sessions are rows; deleting one archives it (its board stays readable by its owner). The embedded
    room hosts any board on demand, so with `open_boards` any name is an open session."""

    def __init__(self, engine: AsyncEngine, *, open_boards: bool = False) -> None:
        self._engine = engine
        self._open_boards = open_boards

    async def create(self, session: SessionRow) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(SessionRow.__table__.insert().values(session.model_dump()))  # type: ignore[attr-defined]
        except IntegrityError as error:
            raise ConflictError(f"session {session.name!r} already exists") from error

    async def update(self, session: SessionRow) -> None:
        values = session.model_dump(exclude={"namespace", "name", "owner", "created_at"})
        async with self._engine.begin() as conn:
            await conn.execute(
                update(SessionRow)
                .where(col(SessionRow.namespace) == session.namespace, col(SessionRow.name) == session.name)
                .values(values)
            )

    async def delete(self, namespace: str, name: str) -> None:
        await mark_archived(self._engine, namespace, name)

    async def is_open(self, namespace: str, name: str) -> bool:  # noqa: ARG002 - any name in any namespace
        return self._open_boards

    async def status(self, namespace: str, names: Collection[str] | None = None) -> dict[str, SessionStatus]:  # noqa: ARG002
        return {}  # no room of its own to observe: the embedded room hosts every session

    async def status_elsewhere(
        self,
        namespaces: Sequence[str],  # noqa: ARG002
        *,
        but: str,  # noqa: ARG002
    ) -> dict[tuple[str, str], SessionStatus]:
        return {}  # the embedded platform has one namespace (settings refuse session_namespaces with it)


async def get_session(engine: AsyncEngine, namespace: str, name: str) -> SessionRow | None:
    query = select(SessionRow).where(col(SessionRow.namespace) == namespace, col(SessionRow.name) == name)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return SessionRow.model_validate(row._mapping) if row is not None else None  # noqa: SLF001


async def list_owned(engine: AsyncEngine, namespace: str, owner: str, limit: int = 100) -> list[SessionRow]:
    """Sessions `owner` owns that are not archived (a page of them)."""
    query = (
        select(SessionRow)
        .where(
            col(SessionRow.namespace) == namespace,
            col(SessionRow.owner) == owner,
            col(SessionRow.archived).is_(False),
        )
        .order_by(col(SessionRow.name))
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [SessionRow.model_validate(row._mapping) for row in await conn.execute(query)]  # noqa: SLF001


async def count_owned(engine: AsyncEngine, namespace: str, owner: str) -> int:
    query = select(func.count()).where(
        col(SessionRow.namespace) == namespace,
        col(SessionRow.owner) == owner,
        col(SessionRow.archived).is_(False),
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def count_live_links(engine: AsyncEngine, namespace: str, session: str) -> int:
    query = select(func.count()).where(
        col(ShareLinkRow.namespace) == namespace,
        col(ShareLinkRow.session) == session,
        col(ShareLinkRow.revoked).is_(False),
        col(ShareLinkRow.expires_at) > time.time(),
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def list_sessions(
    engine: AsyncEngine, namespace: str, *, viewer: str | None, after: str, limit: int
) -> list[SessionRow]:
    """Public sessions and the viewer's own, not archived, by name after `after`."""
    visible = col(SessionRow.visibility) == "public"
    if viewer is not None:
        visible = or_(visible, col(SessionRow.owner) == viewer)
    query = (
        select(SessionRow)
        .where(
            col(SessionRow.namespace) == namespace,
            col(SessionRow.archived).is_(False),
            col(SessionRow.name) > after,
            visible,
        )
        .order_by(col(SessionRow.name))
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [SessionRow.model_validate(row._mapping) for row in await conn.execute(query)]  # noqa: SLF001


async def names_with_rows(engine: AsyncEngine, namespace: str, names: Collection[str]) -> set[str]:
    """Which of `names` have a row (made through the API, or archived), whoever may see them."""
    if not names:
        return set()
    query = select(col(SessionRow.name)).where(
        col(SessionRow.namespace) == namespace, col(SessionRow.name).in_(list(names))
    )
    async with engine.connect() as conn:
        return set((await conn.execute(query)).scalars())


async def mark_archived(engine: AsyncEngine, namespace: str, name: str) -> SessionRow:
    """Archive a session (idempotent); a session nobody created through the API gets a row for it."""
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(
            update(SessionRow)
            .where(
                col(SessionRow.namespace) == namespace,
                col(SessionRow.name) == name,
                col(SessionRow.archived).is_(False),
            )
            .values(archived=True, archived_at=now)
        )
    row = await get_session(engine, namespace, name)
    if row is not None:
        return row
    row = SessionRow(
        namespace=namespace,
        name=name,
        title=name,
        owner=None,
        visibility="private",
        allow_guests=False,
        max_participants=1,
        idle_timeout_seconds=0,
        created_at=now,
        archived=True,
        archived_at=now,
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(SessionRow.__table__.insert().values(row.model_dump()))  # type: ignore[attr-defined]
    except IntegrityError:  # archived concurrently: the other call made the row
        return await mark_archived(engine, namespace, name)
    return row


# ------------------------------------------------------------------------------------ share links


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def mint_link(
    engine: AsyncEngine, *, namespace: str, session: str, role: str, created_by: str, ttl_seconds: int
) -> tuple[str, ShareLinkRow]:
    """A new share link: its code (`<id>.<secret>`, shown once) and its row."""
    link_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    now = time.time()
    row = ShareLinkRow(
        id=link_id,
        secret_hash=_secret_hash(secret),
        namespace=namespace,
        session=session,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl_seconds,
    )
    async with engine.begin() as conn:
        await conn.execute(ShareLinkRow.__table__.insert().values(row.model_dump()))  # type: ignore[attr-defined]
    return f"{link_id}.{secret}", row


async def list_links(
    engine: AsyncEngine, namespace: str, session: str, *, after: str, limit: int
) -> list[ShareLinkRow]:
    query = (
        select(ShareLinkRow)
        .where(
            col(ShareLinkRow.namespace) == namespace,
            col(ShareLinkRow.session) == session,
            col(ShareLinkRow.id) > after,
        )
        .order_by(col(ShareLinkRow.id))
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [ShareLinkRow.model_validate(row._mapping) for row in await conn.execute(query)]  # noqa: SLF001


async def revoke_link(engine: AsyncEngine, namespace: str, session: str, link_id: str) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(ShareLinkRow)
            .where(
                and_(
                    col(ShareLinkRow.id) == link_id,
                    col(ShareLinkRow.namespace) == namespace,
                    col(ShareLinkRow.session) == session,
                )
            )
            .values(revoked=True)
        )
    if result.rowcount == 0:
        raise NotFoundError(f"session {session!r} has no share link {link_id!r}")


async def redeem_link(engine: AsyncEngine, namespace: str, session: str, code: str) -> ShareLinkRow:
    """The link a code stands for, if it is for this session, not revoked and not expired."""
    link_id, _, secret = code.partition(".")
    query = select(ShareLinkRow).where(col(ShareLinkRow.id) == link_id)
    async with engine.connect() as conn:
        found = (await conn.execute(query)).first()
    row = ShareLinkRow.model_validate(found._mapping) if found is not None else None  # noqa: SLF001
    if row is None or not hmac.compare_digest(row.secret_hash, _secret_hash(secret)):
        raise ForbiddenError("this share link is not valid")
    if (row.namespace, row.session) != (namespace, session):
        raise ForbiddenError(f"this share link is for session {row.session!r}, not {session!r}")
    if row.revoked:
        raise ForbiddenError("this share link was revoked by the session's owner")
    if row.expires_at <= time.time():
        raise ForbiddenError("this share link has expired")
    return row
