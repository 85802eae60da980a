"""Users and logins (the seed's user-service): argon2id password hashes, opaque login tokens.

A login token is random; only its SHA-256 is stored. The same token travels as an HTTP-only cookie
(browsers) or as `Authorization: Bearer` (scripts).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from zxcvbn import zxcvbn

from drawnet.drawing.errors import ConflictError, InvalidInputError, UnauthorizedError
from drawnet.drawing.models import LoginRow, LoginSessionRow, UserRow

LOGIN_TOKEN_PREFIX = "dnl_"  # noqa: S105 - a prefix, not a secret
"""Login tokens start with this, so a bearer token is told apart from a join token (a JWT) at a glance."""

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory profile
# Verifying against this when the user does not exist takes as long as a real check: no user enumeration.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


LOGIN_ID_CHARS = 32
"""A login's id in the join tokens minted with it (`lid`): the first 128 bits of its token's hash, which
name it without being anything one could log in with."""


def login_id(hashed: str) -> str:
    return hashed[:LOGIN_ID_CHARS]


async def login_exists(engine: AsyncEngine, lid: str) -> bool:
    """Whether the login of this `lid` is still there (not logged out, not ended, not expired)."""
    # Hex digits sort below "~": this is the range of hashes that start with `lid`, read on the key.
    query = select(col(LoginRow.token_hash)).where(
        col(LoginRow.token_hash) >= lid,
        col(LoginRow.token_hash) < lid + "~",
        col(LoginRow.expires_at) > time.time(),
    )
    async with engine.connect() as conn:
        return (await conn.execute(query.limit(1))).first() is not None


async def record_join(engine: AsyncEngine, login_token: str, namespace: str, session: str) -> bool:
    """Note that this login was given a join token for this session (its logout revokes it there);
    False when the login has ended meanwhile."""
    values = {"token_hash": token_hash(login_token), "namespace": namespace, "session": session}
    try:
        async with engine.begin() as conn:
            exists = select(LoginSessionRow).where(
                *(getattr(LoginSessionRow, key) == value for key, value in values.items())
            )
            if (await conn.execute(exists)).first() is None:
                await conn.execute(LoginSessionRow.__table__.insert().values(values))  # type: ignore[attr-defined]
    except IntegrityError:
        return False  # the login is gone (logged out while this request ran), or a racing twin wrote it
    return True


async def _end_logins(conn: AsyncConnection, *where: ColumnElement[bool]) -> list[tuple[str, str, str]]:
    """Delete the logins `where` selects; (lid, namespace, session) of every session they joined."""
    joined = (
        select(col(LoginSessionRow.token_hash), col(LoginSessionRow.namespace), col(LoginSessionRow.session))
        .join(LoginRow, col(LoginRow.token_hash) == col(LoginSessionRow.token_hash))
        .where(*where)
    )
    ended = [(login_id(hashed), ns, session) for hashed, ns, session in (await conn.execute(joined)).tuples()]
    await conn.execute(delete(LoginRow).where(*where))
    return ended


GUESSABILITY_CHARS = 72
"""zxcvbn's own cap on what it estimates (its time grows with the length); a password's first 72
characters are what decide whether it is one of the common ones."""


async def check_guessability(password: str, user_inputs: list[str], min_score: int) -> None:
    """Refuse a password zxcvbn (its lists of common passwords, names and words, and their keyboard,
    l33t and date variants; also the user's own name) scores below `min_score` of 4."""
    if min_score <= 0:
        return
    inputs = [value[:GUESSABILITY_CHARS] for value in user_inputs if value]
    estimate = await asyncio.to_thread(zxcvbn, password[:GUESSABILITY_CHARS], inputs)
    score = int(estimate["score"])
    if score < min_score:
        warning = str(estimate["feedback"].get("warning") or "").strip()
        raise InvalidInputError(
            f"this password is too easy to guess: zxcvbn scores it {score} of 4, below password_min_score "
            f"{min_score}" + (f" ({warning.rstrip('.')})" if warning else "")
        )


async def register(engine: AsyncEngine, *, username: str, password: str, display_name: str) -> UserRow:
    hashed = await asyncio.to_thread(_hasher.hash, password)
    user = UserRow(
        id=uuid.uuid4().hex,
        username=username.lower(),
        display_name=display_name or username,
        password_hash=hashed,
        created_at=time.time(),
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(UserRow.__table__.insert().values(user.model_dump()))  # type: ignore[attr-defined]
    except IntegrityError as error:
        raise ConflictError(f"user name {username.lower()!r} is taken") from error
    return user


async def login(
    engine: AsyncEngine, *, username: str, password: str, ttl_seconds: int
) -> tuple[str, UserRow, float]:
    """(token, user, expires_at) for the right password; UnauthorizedError otherwise."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(UserRow).where(col(UserRow.username) == username.lower()))).first()
    user = UserRow.model_validate(row._mapping) if row is not None else None  # noqa: SLF001
    try:
        await asyncio.to_thread(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        raise UnauthorizedError("wrong user name or password")
    token = LOGIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    expires = now + ttl_seconds
    async with engine.begin() as conn:
        await conn.execute(
            LoginRow.__table__.insert().values(  # type: ignore[attr-defined]
                token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires
            )
        )
    return token, user, expires


async def check_password(user: UserRow, password: str) -> None:
    try:
        await asyncio.to_thread(_hasher.verify, user.password_hash, password)
    except (VerificationError, InvalidHashError) as error:
        raise UnauthorizedError("wrong password") from error


async def change_password(
    engine: AsyncEngine, user: UserRow, new_password: str, keep_login: str
) -> list[tuple[str, str, str]]:
    """A new password hash; every other login of the user ends (whoever else had it is out). Returns
    (lid, namespace, session) of the sessions those logins joined, whose tokens must be revoked."""
    hashed = await asyncio.to_thread(_hasher.hash, new_password)
    async with engine.begin() as conn:
        await conn.execute(update(UserRow).where(col(UserRow.id) == user.id).values(password_hash=hashed))
        return await _end_logins(
            conn, col(LoginRow.user_id) == user.id, col(LoginRow.token_hash) != token_hash(keep_login)
        )


async def delete_user(engine: AsyncEngine, user: UserRow) -> list[tuple[str, str, str]]:
    """The user and their logins; (lid, namespace, session) of the sessions those logins joined."""
    async with engine.begin() as conn:
        ended = await _end_logins(conn, col(LoginRow.user_id) == user.id)
        await conn.execute(delete(UserRow).where(col(UserRow.id) == user.id))
    return ended


async def user_for_token(engine: AsyncEngine, token: str) -> UserRow | None:
    query = (
        select(UserRow)
        .join(LoginRow, col(LoginRow.user_id) == col(UserRow.id))
        .where(col(LoginRow.token_hash) == token_hash(token), col(LoginRow.expires_at) > time.time())
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return UserRow.model_validate(row._mapping) if row is not None else None  # noqa: SLF001


async def logout(engine: AsyncEngine, token: str) -> list[tuple[str, str, str]]:
    """End this login; (lid, namespace, session) of the sessions it joined, whose tokens must go."""
    async with engine.begin() as conn:
        ended = await _end_logins(conn, col(LoginRow.token_hash) == token_hash(token))
        # Expired logins of anyone go too: the table only holds live ones (their tokens expired long ago).
        await conn.execute(delete(LoginRow).where(col(LoginRow.expires_at) <= time.time()))
    return ended
