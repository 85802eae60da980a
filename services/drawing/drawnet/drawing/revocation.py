"""Taking access back: the authority a join token was minted on, kicks and bans, and the revocations
published to every room (`drawnet.protocol.access`).

A join token names the authority it was minted on (`grant`): the session's owner, a share link, or a
public board. Renewing it, or using it on this service's endpoints, requires that authority still to
hold, as minting it did; and neither works for someone the owner kicked since it was minted or banned.
Every change that takes access away is committed here first, then published on the access stream, which
every room hosting the session follows: they close the connections it names and refuse their tokens.
"""

from __future__ import annotations

import time

import msgspec
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing import accounts
from drawnet.drawing.errors import NotFoundError, UnavailableError
from drawnet.drawing.models import RemovalRow, SessionRow, ShareLinkRow
from drawnet.drawing.sessions import SessionBackend
from drawnet.protocol import CloseCode
from drawnet.protocol.access import Revocation, access_subject
from drawnet.protocol.tokens import JoinClaims

KICK, BAN = "kick", "ban"
PUBLISH_TIMEOUT_SECONDS = 5.0


async def removals_of(engine: AsyncEngine, namespace: str, session: str, subject: str) -> dict[str, float]:
    """{kind: when} of this person's kick and ban in this session."""
    query = select(col(RemovalRow.kind), col(RemovalRow.at)).where(
        col(RemovalRow.namespace) == namespace,
        col(RemovalRow.session) == session,
        col(RemovalRow.subject) == subject,
    )
    async with engine.connect() as conn:
        return dict((await conn.execute(query)).tuples().all())


async def banned_reason(engine: AsyncEngine, namespace: str, session: str, subject: str) -> str | None:
    if BAN in await removals_of(engine, namespace, session, subject):
        return f"you are banned from session {session!r} by its owner"
    return None


async def _link(engine: AsyncEngine, link_id: str) -> ShareLinkRow | None:
    async with engine.connect() as conn:
        found = (await conn.execute(select(ShareLinkRow).where(col(ShareLinkRow.id) == link_id))).first()
    return ShareLinkRow.model_validate(found._mapping) if found is not None else None  # noqa: SLF001


async def authority_refusal(
    engine: AsyncEngine,
    backend: SessionBackend,
    row: SessionRow | None,
    claims: JoinClaims,
) -> str | None:
    """Why this (valid, unexpired) join token no longer admits its bearer, or None."""
    name = claims.session
    if row is not None and row.archived:
        return f"session {name!r} was archived"
    removals = await removals_of(engine, claims.ns, name, claims.sub)
    if BAN in removals:
        return f"you are banned from session {name!r} by its owner"
    if KICK in removals and removals[KICK] >= claims.iat:
        return f"you were removed from session {name!r} by its owner: join it again"
    if claims.lid and not await accounts.login_exists(engine, claims.lid):
        return "the login this token was minted with has ended (logged out): log in again"
    if claims.guest and row is not None and not row.allow_guests:
        return f"session {name!r} does not allow guests any more: log in to join"
    return await _grant_refusal(engine, backend, row, claims)


async def _grant_refusal(  # noqa: PLR0911 - one return per reason reads top to bottom
    engine: AsyncEngine, backend: SessionBackend, row: SessionRow | None, claims: JoinClaims
) -> str | None:
    """Why the authority the token was minted on no longer holds, or None."""
    namespace, name, grant = claims.ns, claims.session, claims.grant
    if grant == "owner":
        return None if row is not None and row.owner == claims.sub else f"you do not own session {name!r}"
    if grant.startswith("link:"):
        link = await _link(engine, grant.removeprefix("link:"))
        if link is None or (link.namespace, link.session) != (namespace, name):
            return "the share link this token was minted on does not exist"
        if link.revoked:
            return "the share link this token was minted on was revoked by the session's owner"
        if link.expires_at <= time.time():
            return "the share link this token was minted on has expired"
        return None
    if grant == "public":
        if (row is None and await backend.is_open(namespace, name)) or (
            row is not None and row.visibility == "public"
        ):
            return None
        return f"session {name!r} is private now: ask its owner for a share link"
    return "this join token does not say what it was minted on: join again"


async def remove(
    engine: AsyncEngine, *, namespace: str, session: str, subject: str, kind: str, by: str, name: str
) -> float:
    """Record a kick or a ban (again: its time moves on); returns its time."""
    at = time.time()
    values = {
        "namespace": namespace,
        "session": session,
        "subject": subject,
        "kind": kind,
        "at": at,
        "by": by,
        "name": name[:64],
    }
    async with engine.begin() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = insert(RemovalRow).values(values)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["namespace", "session", "subject", "kind"],
                set_={"at": at, "by": by, "name": values["name"]},
            )
        )
    return at


async def unban(engine: AsyncEngine, namespace: str, session: str, subject: str) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(RemovalRow).where(
                col(RemovalRow.namespace) == namespace,
                col(RemovalRow.session) == session,
                col(RemovalRow.subject) == subject,
                col(RemovalRow.kind) == BAN,
            )
        )
    if result.rowcount == 0:
        raise NotFoundError(f"{subject!r} is not banned from session {session!r}")


async def list_bans(
    engine: AsyncEngine, namespace: str, session: str, *, after: str, limit: int
) -> list[RemovalRow]:
    query = (
        select(RemovalRow)
        .where(
            col(RemovalRow.namespace) == namespace,
            col(RemovalRow.session) == session,
            col(RemovalRow.kind) == BAN,
            col(RemovalRow.subject) > after,
        )
        .order_by(col(RemovalRow.subject))
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [RemovalRow.model_validate(row._mapping) for row in await conn.execute(query)]  # noqa: SLF001


async def publish(  # noqa: PLR0913 - a revocation's selectors, by name
    js: JetStreamContext,
    namespace: str,
    session: str,
    code: CloseCode,
    reason: str,
    *,
    everyone: bool = False,
    subs: list[str] | None = None,
    grants: list[str] | None = None,
    logins: list[str] | None = None,
    guests: bool = False,
) -> Revocation:
    """Tell every room hosting the session. Call it once the change is committed: the revocation covers
    the tokens dated until now, and `/join` dates a token before it reads anything, so one dated later
    was checked against the new state."""
    revocation = Revocation(
        ns=namespace,
        session=session,
        ts=time.time(),
        code=int(code),
        reason=reason,
        everyone=everyone,
        subs=subs or [],
        grants=grants or [],
        logins=logins or [],
        guests=guests,
    )
    try:
        await js.publish(
            access_subject(namespace, session),
            msgspec.json.encode(revocation),
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
    except (NatsError, TimeoutError) as error:
        raise UnavailableError(
            f"the change is saved, but the rooms could not be told ({error.__class__.__name__}): "
            "repeat the request to close the connections it concerns now",
            headers={"Retry-After": "2"},
        ) from error
    return revocation


async def publish_ended_logins(js: JetStreamContext, ended: list[tuple[str, str, str]], reason: str) -> None:
    """Close, in every session they joined, the connections of logins that ended (a logout, a password
    change ending the others, an account deleted): one revocation per session, naming their `lid`s."""
    by_session: dict[tuple[str, str], list[str]] = {}
    for lid, namespace, session in ended:
        by_session.setdefault((namespace, session), []).append(lid)
    for (namespace, session), lids in by_session.items():
        await publish(js, namespace, session, CloseCode.REVOKED, reason, logins=lids)
