"""The web app: index.html with the server's URLs and limits injected, and its static files.

Caching: the page is `no-cache` (it carries the configuration); js/ and css/ have stable names (there is
no build step to fingerprint them), so they are `no-cache` too, and revalidate cheaply: each has a strong
ETag (a digest of its bytes) and an `If-None-Match` that matches gets 304 Not Modified.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from drawnet.drawing import conditional
from drawnet.drawing.errors import NotFoundError
from drawnet.drawing.settings import DrawingSettings

PLACEHOLDER = '<script id="drawnet-config" type="application/json">{}</script>'
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Share links carry their code in the query: never send the page's address to anyone else.
    "Referrer-Policy": "no-referrer",
}


def page_config(settings: DrawingSettings) -> dict[str, Any]:
    """What the page learns from the server: where things are, and the limits it will be held to."""
    return {
        "roomUrl": settings.room_public_url,
        "apiUrl": f"{settings.base_url}/api/v1",
        "publicUrl": settings.base_url,
        "namespace": settings.namespace,
        "limits": {
            "max_body_bytes": settings.max_body_bytes,
            "max_import_bytes": settings.max_import_bytes,
            "max_import_ops": settings.max_import_ops,
            "default_page_size": settings.default_page_size,
            "max_page_size": settings.max_page_size,
            "max_ops_page_size": settings.max_ops_page_size,
            "login_attempts_per_minute": settings.login_attempts_per_minute,
            "password_min_length": settings.password_min_length,
            "max_participants_limit": settings.max_participants_limit,
            "max_export_pixels": settings.max_export_pixels,
        },
    }


def content_security_policy(settings: DrawingSettings) -> str:
    """The web app's pages: its own scripts, styles, fonts and API only, and WebSockets to the rooms
    (its own host, and the room server's public URL on one machine). The page's one inline style
    attribute (the icon sprite's) is allowed; inline scripts and style elements are not."""
    room = urlsplit(settings.room_public_url)
    rooms = f" {room.scheme}://{room.netloc}" if room.scheme in {"ws", "wss"} and room.netloc else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        f"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'{rooms}; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def index_page(settings: DrawingSettings) -> str:
    """index.html with the configuration injected, so the page needs no extra request."""
    page = (settings.frontend_dir / "index.html").read_text()
    config = json.dumps(page_config(settings))
    # Inside <script> entities are not decoded: escaping "<" keeps "</script>" out, and JSON reads \u003c.
    safe = config.replace("<", "\\u003c")
    return page.replace(PLACEHOLDER, f'<script id="drawnet-config" type="application/json">{safe}</script>')


@get(["/", "/s/{session:str}"], include_in_schema=False, media_type=MediaType.HTML)
async def web_app(state: State) -> Response[str]:
    return Response(
        state.index_page,
        media_type=MediaType.HTML,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": state.content_security_policy,
            **SECURITY_HEADERS,
        },
    )


class StaticFiles:
    """The web app's js/, css/ and fonts/ files, read again when they change on disk (handy while
    developing)."""

    FOLDERS = ("js", "css", "fonts")

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[tuple[int, int], bytes, str, str]] = {}

    def get(self, relative: str) -> tuple[bytes, str, str] | None:
        """(body, media type, etag) of a file under one of FOLDERS, or None."""
        if "\x00" in relative:
            return None  # no file has a NUL in its name (and the OS would refuse the path)
        path = (self.root / relative).resolve()
        if not any(path.is_relative_to(self.root / folder) for folder in self.FOLDERS) or not path.is_file():
            return None
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != version:
            body = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/"):
                media += "; charset=utf-8"
            cached = (version, body, media, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
            self._cache[path] = cached
        return cached[1:]


@get(["/js/{path:path}", "/css/{path:path}", "/fonts/{path:path}"], include_in_schema=False)
async def static_file(
    state: State,
    request: Request[object, object, State],
    path: Annotated[str, Parameter()],  # noqa: ARG001 - the route declares it; the folder is in the URL
) -> Response[bytes]:
    files: StaticFiles = state.static_files
    found = files.get(request.url.path.lstrip("/"))
    if found is None:
        raise NotFoundError(f"no file {request.url.path}")
    body, media, etag = found
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if conditional.unchanged(request, etag):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=media, headers=headers)


def routes() -> list[Any]:
    return [web_app, static_file]
