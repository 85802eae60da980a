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
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing.errors import ConflictError, UnauthorizedError
from drawnet.drawing.models import LoginRow, UserRow

LOGIN_TOKEN_PREFIX = "dnl_"  # noqa: S105 - a prefix, not a secret
"""Login tokens start with this, so a bearer token is told apart from a join token (a JWT) at a glance."""

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory profile
# Verifying against this when the user does not exist takes as long as a real check: no user enumeration.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


async def change_password(engine: AsyncEngine, user: UserRow, new_password: str, keep_login: str) -> None:
    """A new password hash; every other login of the user ends (whoever else had it is out)."""
    hashed = await asyncio.to_thread(_hasher.hash, new_password)
    async with engine.begin() as conn:
        await conn.execute(update(UserRow).where(col(UserRow.id) == user.id).values(password_hash=hashed))
        await conn.execute(
            delete(LoginRow).where(
                col(LoginRow.user_id) == user.id, col(LoginRow.token_hash) != token_hash(keep_login)
            )
        )


async def delete_user(engine: AsyncEngine, user: UserRow) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(LoginRow).where(col(LoginRow.user_id) == user.id))
        await conn.execute(delete(UserRow).where(col(UserRow.id) == user.id))


async def user_for_token(engine: AsyncEngine, token: str) -> UserRow | None:
    query = (
        select(UserRow)
        .join(LoginRow, col(LoginRow.user_id) == col(UserRow.id))
        .where(col(LoginRow.token_hash) == token_hash(token), col(LoginRow.expires_at) > time.time())
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return UserRow.model_validate(row._mapping) if row is not None else None  # noqa: SLF001


async def logout(engine: AsyncEngine, token: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(LoginRow).where(col(LoginRow.token_hash) == token_hash(token)))
        # Expired logins of anyone go too: the table only holds live ones.
        await conn.execute(delete(LoginRow).where(col(LoginRow.expires_at) <= time.time()))
