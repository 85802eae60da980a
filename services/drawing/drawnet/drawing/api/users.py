"""Users and logins: register, login, logout, me."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from drawnet.drawing import accounts, metrics, revocation, sessions
from drawnet.drawing.access import COOKIE, Caller
from drawnet.drawing.context import Context, client_address
from drawnet.drawing.errors import InvalidInputError, UnauthorizedError
from drawnet.drawing.models import UserRow
from drawnet.drawing.schemas import (
    AccountDeletion,
    Credentials,
    Login,
    PasswordChange,
    Registration,
    User,
)
from drawnet.protocol import CloseCode

TAG = ["users"]


def user_view(row: UserRow) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name, created_at=row.created_at)


@post("/api/v1/users", status_code=HTTP_201_CREATED, tags=TAG, summary="Register a user")
async def register(
    ctx: Context, data: Registration, request: Request[object, object, State]
) -> Response[User]:
    await ctx.limits.register.hit(client_address(request))
    await _password_rules(ctx, data.password, [data.username, data.display_name])
    row = await accounts.register(
        ctx.engine, username=data.username, password=data.password, display_name=data.display_name.strip()
    )
    return Response(user_view(row), status_code=HTTP_201_CREATED, headers={"Location": "/api/v1/auth/me"})


@post("/api/v1/auth/login", status_code=200, tags=TAG, summary="Log in: a bearer token and a cookie")
async def login(ctx: Context, data: Credentials, request: Request[object, object, State]) -> Response[Login]:
    # Both: one user's password guessed from many addresses, and many users' from one.
    await ctx.limits.login_per_address.hit(client_address(request))
    await ctx.limits.login.hit(data.username.lower())
    try:
        token, row, expires = await accounts.login(
            ctx.engine,
            username=data.username,
            password=data.password,
            ttl_seconds=ctx.settings.login_ttl_seconds,
        )
    except UnauthorizedError:
        metrics.LOGIN_FAILURES.inc()
        raise
    cookie = Cookie(
        key=COOKIE,
        value=token,
        httponly=True,
        secure=ctx.settings.cookie_secure,
        samesite="lax",
        max_age=ctx.settings.login_ttl_seconds,
        path="/",
    )
    return Response(Login(token=token, expires_at=expires, user=user_view(row)), cookies=[cookie])


@post("/api/v1/auth/logout", status_code=HTTP_204_NO_CONTENT, tags=TAG, summary="Log out (this login only)")
async def logout(ctx: Context, caller: Caller) -> Response[None]:
    if caller.login_token is None:
        raise UnauthorizedError("not logged in")
    ended = await accounts.logout(ctx.engine, caller.login_token)
    # The join tokens minted with this login stop working in every room (they carry its `lid`).
    await revocation.publish_ended_logins(ctx.js, ended, "you logged out")
    expired = Cookie(
        key=COOKIE, value="", httponly=True, secure=ctx.settings.cookie_secure, max_age=0, path="/"
    )
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[expired])


@get("/api/v1/auth/me", tags=TAG, summary="The logged-in user")
async def me(caller: Caller) -> User:
    if caller.user is None:
        raise UnauthorizedError("not logged in")
    return user_view(caller.user)


async def _password_rules(ctx: Context, password: str, user_inputs: list[str]) -> None:
    minimum = ctx.settings.password_min_length
    if len(password) < minimum:
        raise InvalidInputError(
            f"a password of {len(password)} characters is shorter than password_min_length {minimum}"
        )
    await accounts.check_guessability(password, user_inputs, ctx.settings.password_min_score)


@post("/api/v1/auth/password", status_code=HTTP_204_NO_CONTENT, tags=TAG, summary="Change your password")
async def change_password(ctx: Context, caller: Caller, data: PasswordChange) -> None:
    if caller.user is None or caller.login_token is None:
        raise UnauthorizedError("log in to change your password")
    await ctx.limits.login.hit(caller.user.username)  # guessing the current password is a login attempt
    await accounts.check_password(caller.user, data.current_password)
    await _password_rules(
        ctx, data.new_password, [caller.user.username, caller.user.display_name, data.current_password]
    )
    ended = await accounts.change_password(
        ctx.engine, caller.user, data.new_password, keep_login=caller.login_token
    )
    await revocation.publish_ended_logins(ctx.js, ended, "the account's password was changed: log in again")


@post(
    "/api/v1/auth/delete",
    status_code=HTTP_204_NO_CONTENT,
    tags=TAG,
    summary="Delete your account: your sessions are archived and closed, your logins end",
)
async def delete_account(ctx: Context, caller: Caller, data: AccountDeletion) -> Response[None]:
    if caller.user is None:
        raise UnauthorizedError("log in to delete your account")
    await ctx.limits.login.hit(caller.user.username)
    await accounts.check_password(caller.user, data.password)
    namespace = ctx.settings.namespace
    while owned := await sessions.list_owned(ctx.engine, namespace, caller.user.id):
        for row in owned:
            await ctx.backend.delete(row.namespace, row.name)
            await sessions.mark_archived(ctx.engine, row.namespace, row.name)
            await revocation.publish(
                ctx.js,
                row.namespace,
                row.name,
                CloseCode.REVOKED,
                "the board's owner deleted their account",
                everyone=True,
            )
    ended = await accounts.delete_user(ctx.engine, caller.user)
    await revocation.publish_ended_logins(ctx.js, ended, "the account was deleted")
    expired = Cookie(
        key=COOKIE, value="", httponly=True, secure=ctx.settings.cookie_secure, max_age=0, path="/"
    )
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[expired])


ROUTES = [register, login, logout, me, change_password, delete_account]
