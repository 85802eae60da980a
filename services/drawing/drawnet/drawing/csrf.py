"""Cross-site request forgery: a state-changing request a browser sends from another site is refused.

Browsers attach the login cookie to requests other sites make them send (a `text/plain` form POST needs
no preflight), so the cookie alone proves nothing about who asked. Every browser says where a request
comes from: `Origin` on every POST, PUT, PATCH and DELETE (and `Sec-Fetch-Site`). A state-changing
request whose Origin is neither this service's own host (the request's `Host`, as the browser addressed
it), nor its `public_url`, nor one of `allowed_origins` is refused with 403 before anything runs. Requests
without either header are not from a browser page (scripts, the platform) and carry no ambient authority
an attacker could borrow.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import State

from drawnet.drawing.errors import ForbiddenError
from drawnet.drawing.settings import DrawingSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.lower()


def refusal(
    settings: DrawingSettings, method: str, origin: str | None, fetch_site: str | None, host: str
) -> str | None:
    """Why this request is refused as cross-site, or None."""
    if method.upper() in SAFE_METHODS:
        return None
    if origin is not None and origin != "null":
        allowed = {
            _netloc(settings.base_url),
            host.lower(),
            *(_netloc(o) for o in settings.allowed_origins.split(",") if o.strip()),
        }
        if _netloc(origin) in allowed:
            return None
        return f"cross-site request refused: origin {origin[:100]!r} is not this service's (allowed_origins)"
    if origin == "null" or (fetch_site is not None and fetch_site not in {"same-origin", "none"}):
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site or 'unknown'}, Origin: {origin})"
    return None


async def check_origin(request: Request[object, object, State]) -> None:
    """Litestar's `before_request`: refuse a cross-site state change."""
    settings: DrawingSettings = request.app.state.settings
    reason = refusal(
        settings,
        request.method,
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
        request.headers.get("host", ""),
    )
    if reason is not None:
        raise ForbiddenError(reason)
