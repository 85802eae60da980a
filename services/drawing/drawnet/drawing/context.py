"""What every request handler may need, made once in the lifespan and injected as `ctx`."""

from __future__ import annotations

import secrets
from concurrent.futures import Executor
from dataclasses import dataclass, field

from litestar import Request
from litestar.datastructures import State
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing.access import COOKIE, Caller, identify
from drawnet.drawing.exportgate import ExportGate
from drawnet.drawing.persister import Persister
from drawnet.drawing.ratelimit import DistinctLimit, RateLimit
from drawnet.drawing.sessions import SessionBackend
from drawnet.drawing.settings import DrawingSettings
from drawnet.protocol.tokens import parse_keys


@dataclass(frozen=True)
class SigningKeys:
    keys: dict[str, bytes]
    active: str

    @classmethod
    def from_settings(cls, settings: DrawingSettings) -> SigningKeys:
        keys = parse_keys(settings.signing_keys)
        if not keys:
            # Tokens signed with a key nobody else knows verify only here: fine for one process alone.
            keys = {"ephemeral": secrets.token_urlsafe(32).encode()}
        return cls(keys, settings.signing_key_id or next(iter(keys)))

    @property
    def key(self) -> bytes:
        return self.keys[self.active]


@dataclass(frozen=True)
class Limits:
    """The rate limits of the API, shared by its replicas (`ratelimit.py`)."""

    login: RateLimit
    """Login attempts per user name."""
    login_per_address: RateLimit
    register: RateLimit
    guest_joins: RateLimit
    open_boards: DistinctLimit
    """Open boards nobody had drawn on, started per client address in an hour (embedded)."""

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: DrawingSettings) -> Limits:
        return cls(
            login=RateLimit(engine, "login_attempts_per_minute", settings.login_attempts_per_minute),
            login_per_address=RateLimit(
                engine,
                "login_attempts_per_address_per_minute",
                settings.login_attempts_per_address_per_minute,
            ),
            register=RateLimit(engine, "register_per_minute", settings.register_per_minute),
            guest_joins=RateLimit(engine, "guest_joins_per_minute", settings.guest_joins_per_minute),
            open_boards=DistinctLimit(
                engine,
                "open_boards_per_address_per_hour",
                settings.open_boards_per_address_per_hour,
                window_seconds=3600,
            ),
        )


@dataclass
class Context:
    settings: DrawingSettings
    engine: AsyncEngine
    nc: Client
    js: JetStreamContext
    persister: Persister
    backend: SessionBackend
    signing: SigningKeys
    limits: Limits
    export_gate: ExportGate
    exports: Executor | None = None
    """The processes that draw large PNG exports (`export_workers`), or none."""
    extra: dict[str, object] = field(default_factory=dict)


def provide_ctx(state: State) -> Context:
    ctx: Context = state.ctx
    return ctx


async def provide_caller(request: Request[object, object, State], state: State) -> Caller:
    ctx: Context = state.ctx
    return await identify(
        ctx.engine, ctx.settings, request.headers.get("authorization"), request.cookies.get(COOKIE)
    )


def client_address(request: Request[object, object, State]) -> str:
    """The peer's address; behind `trusted_proxies`, the one they forwarded for (uvicorn resolves it)."""
    return request.client.host if request.client else "unknown"
