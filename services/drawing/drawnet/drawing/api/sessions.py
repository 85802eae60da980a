"""Sessions: create, list, read, change settings, delete, archive; share links and joining."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Annotated

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie, State
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError as NatsNotFoundError

from drawnet.drawing import accounts, db, revocation, sessions, snapshots
from drawnet.drawing.access import (
    READERS,
    Caller,
    SessionAccess,
    parse_ref,
    require,
    session_access,
    session_ref,
)
from drawnet.drawing.api.pages import Limit, page, page_size
from drawnet.drawing.context import Context, client_address
from drawnet.drawing.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    UnauthorizedError,
    UnavailableError,
)
from drawnet.drawing.models import RemovalRow, SessionRow, ShareLinkRow
from drawnet.drawing.schemas import (
    Archived,
    Ban,
    JoinRequest,
    JoinToken,
    LinkCreate,
    Removal,
    RoomStatus,
    Session,
    SessionCreate,
    SessionPatch,
    ShareLink,
)
from drawnet.drawing.sessions import SessionStatus
from drawnet.protocol import OPS_STREAM, CloseCode, Limits, ops_subject, valid_name
from drawnet.protocol.tokens import JoinClaims, Role, sign

TAG = ["sessions"]
OWNER: frozenset[str] = frozenset({"owner"})
SessionPath = Annotated[
    str,
    Parameter(
        description="the session's name (a DNS-1123 label); `<namespace>.<name>` for a session of another "
        "namespace this service serves (`session_namespaces`)",
        max_length=127,
    ),
]
GUEST_COOKIE = "drawnet_guest"
"""A guest's identity in this browser (`<id>.<mac>`): the same guest across joins, so a ban holds."""


def checked_name(name: str) -> str:
    if not valid_name(name):
        raise InvalidInputError(
            f"{name[:70]!r} is not a session name: a DNS-1123 label (lowercase letters, digits and '-', "
            "at most 63, starting and ending with a letter or digit)"
        )
    return name


async def access_to(ctx: Context, caller: Caller, ref: str) -> SessionAccess:
    namespace, name = parse_ref(ref, ctx.settings.namespace)
    if namespace != ctx.settings.namespace:
        checked_name(namespace)
    return await session_access(
        ctx.engine, ctx.settings, ctx.signing.keys, caller, (namespace, checked_name(name)), ctx.backend
    )


def room_url_of(ctx: Context, namespace: str, name: str, status: SessionStatus | None) -> str:
    """Where browsers open the session's room: the URL the platform gives it (on Kubernetes the session's
    route, from its status), else the room server's public URL (the embedded platform)."""
    if status is not None and status.url:
        return status.url
    return f"{ctx.settings.room_public_url.rstrip('/')}/rooms/{namespace}/{name}"


def session_view(
    ctx: Context, row: SessionRow, role: str | None = None, status: SessionStatus | None = None
) -> Session:
    ref = session_ref(row.namespace, row.name, ctx.settings.namespace)
    return Session(
        name=row.name,
        namespace=row.namespace,
        ref=ref,
        title=row.title,
        owner=row.owner,
        visibility="public" if row.visibility == "public" else "private",
        allow_guests=row.allow_guests,
        max_participants=row.max_participants,
        idle_timeout_seconds=row.idle_timeout_seconds,
        created_at=row.created_at,
        archived=row.archived,
        url=f"{ctx.settings.base_url}/s/{ref}",
        room_url=room_url_of(ctx, row.namespace, row.name, status),
        your_role=role,
        status=None
        if status is None
        else RoomStatus(
            phase=status.phase, ready=status.ready, participants=status.participants, strokes=status.strokes
        ),
    )


def _check_participants(ctx: Context, value: int | None) -> None:
    limit = ctx.settings.max_participants_limit
    if value is not None and value > limit:
        raise LimitExceededError(
            "max_participants_limit", f"max_participants {value} exceeds max_participants_limit {limit}"
        )


@post("/api/v1/sessions", tags=TAG, summary="Create a session (you own it)", status_code=HTTP_201_CREATED)
async def create_session(ctx: Context, caller: Caller, data: SessionCreate) -> Response[Session]:
    row = await create_owned(ctx, caller, data)
    return Response(
        session_view(ctx, row, "owner"),
        status_code=HTTP_201_CREATED,
        headers={"Location": f"/api/v1/sessions/{row.name}"},
    )


async def create_owned(ctx: Context, caller: Caller, data: SessionCreate) -> SessionRow:
    """A new session the caller owns (a login), within their quota."""
    if caller.user is None:
        raise UnauthorizedError("log in to create a session")
    _check_participants(ctx, data.max_participants)
    name = data.name or f"board-{secrets.token_hex(4)}"
    namespace = ctx.settings.namespace
    owned, most = (
        await sessions.count_owned(ctx.engine, namespace, caller.user.id),
        ctx.settings.max_sessions_per_user,
    )
    if owned >= most:
        raise LimitExceededError(
            "max_sessions_per_user",
            f"you own {owned} sessions: max_sessions_per_user {most} (delete one first)",
            status=409,
        )
    if data.name and await _drawn_on_open_board(ctx, namespace, name):
        # Taking it would hand its strokes to a new owner and lock out those still drawing on it.
        raise ConflictError(
            f"{name!r} is an open board people have drawn on: it cannot become your session; "
            "pick another name"
        )
    row = SessionRow(
        namespace=ctx.settings.namespace,
        name=name,
        title=data.title.strip() or name,
        owner=caller.user.id,
        visibility=data.visibility,
        allow_guests=data.allow_guests,
        max_participants=data.max_participants,
        idle_timeout_seconds=data.idle_timeout_seconds,
        created_at=time.time(),
    )
    await ctx.backend.create(row)
    return row


async def _drawn_on_open_board(ctx: Context, namespace: str, name: str) -> bool:
    """Whether `name` is an open board (no row) with ops: stored in SQL, or still only in the op log."""
    if not await ctx.backend.is_open(namespace, name):
        return False
    if await sessions.get_session(ctx.engine, namespace, name) is not None:
        return False  # the backend refuses a second row itself
    if await db.last_seq(ctx.engine, namespace, name) > 0:
        return True
    try:
        await ctx.js.get_last_msg(OPS_STREAM, ops_subject(namespace, name))
    except NatsNotFoundError:
        return False
    except (NatsError, TimeoutError) as error:
        raise UnavailableError(
            f"cannot tell whether {name!r} was drawn on (NATS: {error!r}); retry"
        ) from error
    return True


@get("/api/v1/sessions", tags=TAG, summary="Public sessions and yours, by name")
async def list_sessions(
    ctx: Context,
    caller: Caller,
    request: Request[object, object, State],
    after: Annotated[str, Parameter(description="the last `ref` of the previous page", max_length=127)] = "",
    limit: Limit = None,
) -> Response[list[Session]]:
    size = page_size(limit, default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size)
    viewer = caller.user.id if caller.user else None
    namespace = ctx.settings.namespace
    rows = await sessions.list_sessions(ctx.engine, namespace, viewer=viewer, after=after, limit=size)
    statuses = await ctx.backend.status(namespace)
    # Open sessions (the platform runs them, nobody created them through the API: no row) are listed
    # among the others, by name.
    opened: list[SessionRow] = []
    if ctx.settings.open_boards:
        candidates = [name for name in statuses if name > after]
        unowned = set(candidates) - await sessions.names_with_rows(ctx.engine, namespace, candidates)
        opened = [open_board(ctx, name, statuses[name].title) for name in unowned]
    # Open sessions of the other namespaces this service serves (`session_namespaces`), as `<ns>.<name>`.
    elsewhere: dict[tuple[str, str], SessionStatus] = {}
    if ctx.settings.open_boards and ctx.settings.session_namespaces:
        elsewhere = await ctx.backend.status_elsewhere(ctx.settings.session_namespaces, but=namespace)
        opened += [
            open_board(ctx, name, status.title, namespace=other)
            for (other, name), status in elsewhere.items()
            if session_ref(other, name, namespace) > after
        ]

    def ref(row: SessionRow) -> str:
        return session_ref(row.namespace, row.name, namespace)

    merged = sorted([*rows, *opened], key=ref)[:size]
    items = [
        session_view(
            ctx,
            row,
            "owner" if viewer and row.owner == viewer else "public",
            statuses.get(row.name)
            if row.namespace == namespace
            else elsewhere.get((row.namespace, row.name)),
        )
        for row in merged
    ]
    return page(items, limit=size, cursor=ref(merged[-1]) if merged else None, request=request)


async def _existing(ctx: Context, caller: Caller, name: str) -> tuple[SessionAccess, SessionRow]:
    access = await access_to(ctx, caller, name)
    if access.row is None:
        raise ForbiddenError(
            f"session {name!r} is open: nobody created it through the API, so nobody owns it here"
        )
    return access, access.row


@get("/api/v1/sessions/{session:str}", tags=TAG, summary="A session and its settings")
async def get_session(ctx: Context, caller: Caller, session: SessionPath) -> Session:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "see this session")
    status = (await ctx.backend.status(access.namespace, [access.name])).get(access.name)
    row = access.row or open_board(
        ctx, access.name, status.title if status else "", namespace=access.namespace
    )
    return session_view(ctx, row, access.access, status)


def open_board(ctx: Context, name: str, title: str = "", *, namespace: str = "") -> SessionRow:
    """A session nobody created through the API (an open one), seen as the public session it is."""
    return SessionRow(
        namespace=namespace or ctx.settings.namespace,
        name=name,
        title=title or name,
        owner=None,
        visibility="public",
        allow_guests=True,
        max_participants=Limits().max_participants,
        idle_timeout_seconds=0,
        created_at=0.0,
    )


@patch("/api/v1/sessions/{session:str}", tags=TAG, summary="Change a session's settings (owner)")
async def update_session(ctx: Context, caller: Caller, session: SessionPath, data: SessionPatch) -> Session:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "change this session's settings")
    _check_participants(ctx, data.max_participants)
    changes = {
        key: value
        for key in ("title", "visibility", "allow_guests", "max_participants", "idle_timeout_seconds")
        if (value := getattr(data, key)) is not None
    }
    updated = row.model_copy(update=changes)
    await ctx.backend.update(updated)
    if row.visibility == "public" and updated.visibility != "public":
        await revocation.publish(
            ctx.js,
            row.namespace,
            row.name,
            CloseCode.REVOKED,
            "the board was made private by its owner",
            grants=["public"],
        )
    if row.allow_guests and not updated.allow_guests:
        await revocation.publish(
            ctx.js,
            row.namespace,
            row.name,
            CloseCode.REVOKED,
            "the board's owner switched guest access off: log in to join",
            guests=True,
        )
    return session_view(ctx, updated, "owner")


@delete("/api/v1/sessions/{session:str}", tags=TAG, summary="Delete a session (owner; the board is archived)")
async def delete_session(ctx: Context, caller: Caller, session: SessionPath) -> None:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "delete this session")
    if row.archived:
        raise NotFoundError(f"no session {session!r} (it was archived)")
    await ctx.backend.delete(row.namespace, row.name)
    await revocation.publish(
        ctx.js,
        row.namespace,
        row.name,
        CloseCode.REVOKED,
        "the session was deleted by its owner",
        everyone=True,
    )


@post(
    "/api/v1/sessions/{session:str}/archive",
    tags=TAG,
    status_code=200,
    summary="Archive a session's board (the platform's service token; idempotent)",
)
async def archive_session(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    namespace: Annotated[
        str | None,
        Parameter(
            description="the session's namespace (the operator's); default: this service's", max_length=63
        ),
    ] = None,
) -> Archived:
    if not caller.service:
        if caller.anonymous:
            raise UnauthorizedError("archiving takes the service token")
        raise ForbiddenError("only the platform (its service token) archives sessions")
    name = checked_name(session)
    # The op log, and so SQL, holds every namespace's ops: a session of another namespace the operator
    # serves is archived under its own namespace, never as the same name here.
    namespace = checked_name(namespace) if namespace is not None else ctx.settings.namespace
    stored = await snapshots.load_board(ctx.engine, namespace, name)
    write, _ = snapshots.whole_snapshot(namespace, name, stored.board)
    await snapshots.save(ctx.engine, write)
    await sessions.mark_archived(ctx.engine, namespace, name)
    await revocation.publish(
        ctx.js, namespace, name, CloseCode.REVOKED, "the session was archived", everyone=True
    )
    return Archived(session=name, archived=True, seq=stored.board.seq, strokes=len(stored.board))


# ------------------------------------------------------------------------------------ share links


def link_view(row: ShareLinkRow, code: str | None = None, url: str | None = None) -> ShareLink:
    return ShareLink(
        id=row.id,
        role=row.role,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked=row.revoked,
        code=code,
        url=url,
    )


@post(
    "/api/v1/sessions/{session:str}/links",
    tags=TAG,
    status_code=HTTP_201_CREATED,
    summary="Mint a share link for editors or viewers (owner)",
)
async def create_link(ctx: Context, caller: Caller, session: SessionPath, data: LinkCreate) -> ShareLink:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "share this session")
    assert caller.user is not None  # noqa: S101 - the owner is a user
    links, most = (
        await sessions.count_live_links(ctx.engine, row.namespace, row.name),
        ctx.settings.max_links_per_session,
    )
    if links >= most:
        raise LimitExceededError(
            "max_links_per_session",
            f"session {row.name!r} has {links} live share links: max_links_per_session {most} (revoke one)",
            status=409,
        )
    ttl = data.ttl_seconds or ctx.settings.share_link_ttl_seconds
    code, link = await sessions.mint_link(
        ctx.engine,
        namespace=row.namespace,
        session=row.name,
        role=data.role,
        created_by=caller.user.id,
        ttl_seconds=ttl,
    )
    return link_view(link, code, f"{ctx.settings.base_url}/s/{row.name}?link={code}")


@get("/api/v1/sessions/{session:str}/links", tags=TAG, summary="The session's share links (owner)")
async def list_links(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    after: Annotated[str, Parameter(description="the last id of the previous page", max_length=16)] = "",
    limit: Limit = None,
) -> Response[list[ShareLink]]:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "see this session's share links")
    size = page_size(limit, default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size)
    rows = await sessions.list_links(ctx.engine, row.namespace, row.name, after=after, limit=size)
    return page(
        [link_view(r) for r in rows], limit=size, cursor=rows[-1].id if rows else None, request=request
    )


@delete(
    "/api/v1/sessions/{session:str}/links/{link_id:str}",
    tags=TAG,
    status_code=HTTP_204_NO_CONTENT,
    summary="Revoke a share link (owner)",
)
async def revoke_link(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    link_id: Annotated[str, Parameter(max_length=16)],
) -> None:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "revoke this session's share links")
    await sessions.revoke_link(ctx.engine, row.namespace, row.name, link_id)
    await revocation.publish(
        ctx.js,
        row.namespace,
        row.name,
        CloseCode.REVOKED,
        "the share link you joined with was revoked by the session's owner",
        grants=[f"link:{link_id}"],
    )


async def _join_role(
    ctx: Context, caller: Caller, access: SessionAccess, data: JoinRequest
) -> tuple[Role, str]:
    """The role to join in, and the authority it rests on (the token's `grant`)."""
    if data.link:
        link = await sessions.redeem_link(ctx.engine, access.namespace, access.name, data.link)
        return ("editor" if link.role == "editor" else "viewer"), f"link:{link.id}"
    if access.access == "owner":
        return "owner", "owner"
    if access.claims is not None:
        # A renewal: same person, same role, on the same authority, which `session_access` checked
        # still holds (the link valid, the board public, nobody kicked or banned).
        return access.claims.role, access.claims.grant
    if access.public:
        return "editor", "public"
    if caller.anonymous:
        raise UnauthorizedError(
            f"session {access.name!r} is private: log in as its owner or use a share link"
        )
    raise ForbiddenError(f"session {access.name!r} is private: ask its owner for a share link")


def _guest_mac(ctx: Context, guest_id: str, kid: str) -> str:
    key = ctx.signing.keys[kid]
    return hmac.new(key, f"guest:{guest_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _guest_from_cookie(ctx: Context, cookie: str | None) -> str | None:
    """The guest id this browser was given, if its cookie is one we signed."""
    guest_id, _, mac = (cookie or "").partition(".")
    if len(guest_id) != 16 or not mac:  # 8 random bytes in hex
        return None
    for kid in ctx.signing.keys:
        if hmac.compare_digest(mac, _guest_mac(ctx, guest_id, kid)):
            return guest_id
    return None


def _join_identity(
    ctx: Context, caller: Caller, access: SessionAccess, data: JoinRequest, cookie: str | None
) -> tuple[str, str, Cookie | None]:
    """(sub, display name, a cookie to set) of whoever joins: a user, the holder of a token, or a guest.
    A guest keeps the identity this browser was given before (its cookie), so a ban holds."""
    if caller.user is not None:
        return caller.user.id, data.name.strip() or caller.user.display_name, None
    if access.claims is not None:
        return access.claims.sub, data.name.strip() or access.claims.name, None
    if access.row is not None and not access.row.allow_guests:
        raise UnauthorizedError(f"session {access.name!r} does not allow guests: log in to join")
    if not data.name.strip():
        raise InvalidInputError("guests join with a display name: give `name`")
    guest_id = _guest_from_cookie(ctx, cookie)
    if guest_id is not None:
        return f"guest:{guest_id}", data.name.strip(), None
    guest_id = secrets.token_hex(8)
    made = Cookie(
        key=GUEST_COOKIE,
        value=f"{guest_id}.{_guest_mac(ctx, guest_id, ctx.signing.active)}",
        httponly=True,
        secure=ctx.settings.cookie_secure,
        samesite="lax",
        max_age=365 * 24 * 3600,
        path="/",
    )
    return f"guest:{guest_id}", data.name.strip(), made


@post("/api/v1/sessions/{session:str}/join", tags=TAG, status_code=200, summary="A join token for the room")
async def join(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    data: JoinRequest,
    request: Request[object, object, State],
) -> Response[JoinToken]:
    # The token is dated before any check reads the database: a revocation committed while this request
    # runs is dated after the state it read, so it covers this token (see revocation.publish).
    issued = time.time()
    access = await access_to(ctx, caller, session)
    if access.row is not None and access.row.archived:
        raise ConflictError(f"session {session!r} is archived: nobody can join it")
    role, grant = await _join_role(ctx, caller, access, data)
    sub, name, cookie = _join_identity(ctx, caller, access, data, request.cookies.get(GUEST_COOKIE))
    if caller.user is None and access.claims is None:  # a guest's token, not a renewal
        await ctx.limits.guest_joins.hit(client_address(request))
    if await _starts_an_open_board(ctx, access):
        await ctx.limits.open_boards.hit(client_address(request), f"{access.namespace}/{access.name}")
    # The token names the session's namespace: the room verifies it against its own.
    namespace = access.namespace
    if role != "owner" and (
        banned := await revocation.banned_reason(ctx.engine, namespace, access.name, sub)
    ):
        raise ForbiddenError(banned)
    lid = _login_of(caller, access)
    if caller.login_token is not None and not await accounts.record_join(
        ctx.engine, caller.login_token, namespace, access.name
    ):
        raise UnauthorizedError("your login ended while you joined: log in again")
    status = (await ctx.backend.status(namespace, [access.name])).get(access.name)
    claims = JoinClaims.issue(
        sub=sub,
        name=name,
        ns=namespace,
        session=access.name,
        role=role,
        ttl_seconds=ctx.settings.join_token_ttl_seconds,
        grant=grant,
        max_participants=access.row.max_participants if access.row is not None else 0,
        lid=lid,
        idle=access.row.idle_timeout_seconds if access.row is not None else 0,
        now=issued,
    )
    token = JoinToken(
        token=sign(claims, ctx.signing.active, ctx.signing.key),
        role=role,
        session=access.name,
        namespace=namespace,
        sub=sub,
        name=name,
        expires_at=claims.exp,
        room_url=room_url_of(ctx, namespace, access.name, status),
    )
    return Response(token, cookies=[cookie] if cookie is not None else [])


async def _starts_an_open_board(ctx: Context, access: SessionAccess) -> bool:
    """Whether this (first, not renewed) token is for an open board of any name nobody has drawn on: the
    embedded room starts hosting it (a consumer, memory) when the token is used."""
    return (
        ctx.settings.session_backend == "embedded"
        and access.row is None
        and access.claims is None
        and not await _drawn_on_open_board(ctx, access.namespace, access.name)
    )


def _login_of(caller: Caller, access: SessionAccess) -> str:
    """The `lid` of the new token: the caller's login, or on a renewal the one the old token carried
    (its logout revokes the renewed token too; the renewal checked that login still exists)."""
    if caller.login_token is not None:
        return accounts.login_id(accounts.token_hash(caller.login_token))
    if access.claims is not None:
        return access.claims.lid
    return ""


# ------------------------------------------------------------------------------------ kicks and bans


async def _removable(ctx: Context, caller: Caller, session: str, data: Removal, what: str) -> SessionRow:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, what)
    if data.user == row.owner:
        raise ConflictError("the session's owner cannot be removed from it")
    return row


@post(
    "/api/v1/sessions/{session:str}/kicks",
    tags=TAG,
    status_code=HTTP_204_NO_CONTENT,
    summary="Remove a participant now (owner): their connections close; they may join again",
)
async def kick(ctx: Context, caller: Caller, session: SessionPath, data: Removal) -> None:
    row = await _removable(ctx, caller, session, data, "remove participants")
    assert caller.user is not None  # noqa: S101 - the owner is a user
    await revocation.remove(
        ctx.engine,
        namespace=row.namespace,
        session=row.name,
        subject=data.user,
        kind=revocation.KICK,
        by=caller.user.id,
        name=data.name,
    )
    await revocation.publish(
        ctx.js,
        row.namespace,
        row.name,
        CloseCode.KICKED,
        "the board's owner removed you from it",
        subs=[data.user],
    )


def ban_view(row: RemovalRow) -> Ban:
    return Ban(user=row.subject, name=row.name, banned_at=row.at, banned_by=row.by)


@post(
    "/api/v1/sessions/{session:str}/bans",
    tags=TAG,
    status_code=HTTP_201_CREATED,
    summary="Ban a user or a guest from the session (owner): out now, and no new token",
)
async def ban(ctx: Context, caller: Caller, session: SessionPath, data: Removal) -> Ban:
    row = await _removable(ctx, caller, session, data, "ban participants")
    assert caller.user is not None  # noqa: S101 - the owner is a user
    at = await revocation.remove(
        ctx.engine,
        namespace=row.namespace,
        session=row.name,
        subject=data.user,
        kind=revocation.BAN,
        by=caller.user.id,
        name=data.name,
    )
    await revocation.publish(
        ctx.js,
        row.namespace,
        row.name,
        CloseCode.BANNED,
        "the board's owner banned you from it",
        subs=[data.user],
    )
    return Ban(user=data.user, name=data.name[:64], banned_at=at, banned_by=caller.user.id)


@get("/api/v1/sessions/{session:str}/bans", tags=TAG, summary="Who is banned from the session (owner)")
async def list_bans(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    after: Annotated[str, Parameter(description="the last user of the previous page", max_length=64)] = "",
    limit: Limit = None,
) -> Response[list[Ban]]:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "see this session's bans")
    size = page_size(limit, default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size)
    rows = await revocation.list_bans(ctx.engine, row.namespace, row.name, after=after, limit=size)
    return page(
        [ban_view(r) for r in rows], limit=size, cursor=rows[-1].subject if rows else None, request=request
    )


@delete(
    "/api/v1/sessions/{session:str}/bans/{user:str}",
    tags=TAG,
    status_code=HTTP_204_NO_CONTENT,
    summary="Lift a ban (owner)",
)
async def unban(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    user: Annotated[str, Parameter(max_length=64)],
) -> None:
    access, row = await _existing(ctx, caller, session)
    require(access, OWNER, caller, "lift bans")
    await revocation.unban(ctx.engine, row.namespace, row.name, user)


ROUTES = [
    create_session,
    list_sessions,
    get_session,
    update_session,
    delete_session,
    archive_session,
    create_link,
    list_links,
    revoke_link,
    join,
    kick,
    ban,
    list_bans,
    unban,
]
