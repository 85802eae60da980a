"""Who is calling, and what they may do with one session.

Credentials, strongest first: the service token (the platform's own callers), a login (cookie or
`Bearer dnl_…`), a join token (`Bearer <JWT>`, minted by `/join`: one session, one role). Roles on a
session: `owner` (its creator), `editor` and `viewer` (join tokens), and anyone at all on a public
session or an open board, who may read it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import accounts, revocation
from drawnet.drawing.errors import ForbiddenError, NotFoundError, UnauthorizedError
from drawnet.drawing.models import SessionRow, UserRow
from drawnet.drawing.sessions import SessionBackend, get_session
from drawnet.drawing.settings import DrawingSettings
from drawnet.protocol.tokens import JoinClaims, TokenError, verify

COOKIE = "drawnet_login"
Access = Literal["owner", "editor", "viewer", "service", "public"]
READERS: frozenset[str] = frozenset({"owner", "editor", "viewer", "service", "public"})
WRITERS: frozenset[str] = frozenset({"owner", "editor"})


@dataclass(frozen=True)
class Caller:
    user: UserRow | None = None
    login_token: str | None = None
    join_token: str | None = None
    service: bool = False

    @property
    def anonymous(self) -> bool:
        return self.user is None and self.join_token is None and not self.service


async def identify(
    engine: AsyncEngine, settings: DrawingSettings, authorization: str | None, cookie: str | None
) -> Caller:
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise UnauthorizedError("the Authorization header must be `Bearer <token>`")
        if settings.service_token and hmac.compare_digest(credential, settings.service_token):
            return Caller(service=True)
        if credential.startswith(accounts.LOGIN_TOKEN_PREFIX):
            user = await accounts.user_for_token(engine, credential)
            if user is None:
                raise UnauthorizedError("this login token is not valid or has expired: log in again")
            return Caller(user=user, login_token=credential)
        return Caller(join_token=credential)
    if cookie:
        # A stale cookie is no reason to refuse a page anyone may see: the caller is simply anonymous.
        user = await accounts.user_for_token(engine, cookie)
        if user is not None:
            return Caller(user=user, login_token=cookie)
    return Caller()


def session_ref(namespace: str, name: str, home: str) -> str:
    """How the API and the web app address a session: its name in this service's own namespace (`home`),
    `<namespace>.<name>` in another one it serves (both are DNS-1123 labels: the dot cannot be in either)."""
    return name if namespace == home else f"{namespace}.{name}"


def parse_ref(ref: str, home: str) -> tuple[str, str]:
    """(namespace, name) of a session reference (see `session_ref`); the parts are not checked here."""
    namespace, dot, name = ref.partition(".")
    return (namespace, name) if dot else (home, ref)


@dataclass(frozen=True)
class SessionAccess:
    name: str
    row: SessionRow | None
    """None: an open session (nobody created it through the API; see `SessionBackend.is_open`)."""
    access: Access | None
    claims: JoinClaims | None = None
    namespace: str = ""
    ref: str = ""
    """How the API addresses it (`session_ref`)."""

    @property
    def public(self) -> bool:
        return self.row is None or self.row.visibility == "public"


async def session_access(
    engine: AsyncEngine,
    settings: DrawingSettings,
    keys: Mapping[str, bytes],
    caller: Caller,
    ref: tuple[str, str],
    backend: SessionBackend,
) -> SessionAccess:
    """The caller's access to session `ref` (namespace, name); NotFoundError when there is no such session
    for them (a namespace this service does not serve has none)."""
    namespace, name = ref
    shown = session_ref(namespace, name, settings.namespace)
    if not settings.serves(namespace):
        raise NotFoundError(
            f"no session {shown!r}: this service serves the sessions of namespace {settings.namespace!r}"
            + (f" and {', '.join(settings.session_namespaces)}" if settings.session_namespaces else "")
        )
    row = await get_session(engine, namespace, name)
    if row is None and not await backend.is_open(namespace, name):
        raise NotFoundError(f"no session {shown!r}")
    found = partial(SessionAccess, name, row, namespace=namespace, ref=shown)
    if caller.service:
        return found("service")
    if row is not None and row.archived and not (caller.user and caller.user.id == row.owner):
        raise NotFoundError(f"no session {shown!r} (it was archived)")
    if caller.user is not None and row is not None and row.owner == caller.user.id:
        return found("owner")
    if caller.join_token is not None:
        try:
            claims = verify(caller.join_token, keys, ns=namespace, session=name)
        except TokenError as error:
            if "for session" in error.reason:  # a valid token, for another session
                raise ForbiddenError(error.reason) from error
            raise UnauthorizedError(error.reason) from error
        # The token proves who minted it and for what; whether that authority still holds (the link,
        # the board public, nobody kicked or banned) is the database's to say.
        refusal = await revocation.authority_refusal(engine, backend, row, claims)
        if refusal is not None:
            raise ForbiddenError(refusal)
        return found(claims.role, claims)
    public = row is None or row.visibility == "public"
    return found("public" if public else None)


def require(access: SessionAccess, allowed: frozenset[str], caller: Caller, what: str) -> None:
    if access.access in allowed:
        return
    if caller.anonymous:
        raise UnauthorizedError(f"log in or present a join token to {what}")
    held = access.access if access.access not in {None, "public"} else "no role"
    raise ForbiddenError(f"{held} on session {access.ref or access.name!r} may not {what}")
