"""Users and logins: register, login, logout, me."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from drawnet.drawing import accounts, metrics
from drawnet.drawing.access import COOKIE, Caller
from drawnet.drawing.context import Context, client_address
from drawnet.drawing.errors import InvalidInputError, UnauthorizedError
from drawnet.drawing.models import UserRow
from drawnet.drawing.schemas import Credentials, Login, Registration, User

TAG = ["users"]


def user_view(row: UserRow) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name, created_at=row.created_at)


@post("/api/v1/users", status_code=HTTP_201_CREATED, tags=TAG, summary="Register a user")
async def register(
    ctx: Context, data: Registration, request: Request[object, object, State]
) -> Response[User]:
    await ctx.limits.register.hit(client_address(request))
    minimum = ctx.settings.password_min_length
    if len(data.password) < minimum:
        raise InvalidInputError(
            f"a password of {len(data.password)} characters is shorter than password_min_length {minimum}"
        )
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
    await accounts.logout(ctx.engine, caller.login_token)
    expired = Cookie(
        key=COOKIE, value="", httponly=True, secure=ctx.settings.cookie_secure, max_age=0, path="/"
    )
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[expired])


@get("/api/v1/auth/me", tags=TAG, summary="The logged-in user")
async def me(caller: Caller) -> User:
    if caller.user is None:
        raise UnauthorizedError("not logged in")
    return user_view(caller.user)


ROUTES = [register, login, logout, me]
