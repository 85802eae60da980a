"""Conditional GET (RFC 9110, section 13.1.2): `If-None-Match` against a response's entity tag."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State


def unchanged(request: Request[object, object, State], etag: str) -> bool:
    """Whether the request's `If-None-Match` names `etag` (or is `*`): the reader's copy is current, and
    304 Not Modified is the answer. Tags compare weakly, as the RFC asks for this header."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
