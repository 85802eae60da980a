"""Headers every response carries, errors and static files included."""

from __future__ import annotations

from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from drawnet.drawing.settings import DrawingSettings

HSTS_SECONDS = 365 * 24 * 3600


def every_response(settings: DrawingSettings) -> Callable[[ASGIApp], ASGIApp]:
    """An ASGI middleware: `nosniff` on every response (JSON, SVG exports, problem details), and HSTS
    when the service is public over HTTPS (`public_url`)."""
    added = [(b"x-content-type-options", b"nosniff")]
    if settings.public_url.startswith("https://"):
        added.append((b"strict-transport-security", f"max-age={HSTS_SECONDS}".encode()))

    def middleware(app: ASGIApp) -> ASGIApp:
        async def with_headers(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [(name, value) for name, value in added if name not in present]
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            await app(scope, receive, sending)

        return with_headers

    return middleware
