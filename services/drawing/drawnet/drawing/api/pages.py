"""Pagination: lists are read by a cursor (`after`) and a `limit`; the next page is in a `Link` header."""

from __future__ import annotations

from typing import Annotated, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import State
from litestar.params import Parameter

from drawnet.drawing.errors import LimitExceededError

T = TypeVar("T")

Limit = Annotated[
    int | None,
    Parameter(ge=1, description="items in this page (default: the server's default_page_size)"),
]


def page_size(limit: int | None, *, default: int, maximum: int, name: str = "max_page_size") -> int:
    if limit is None:
        return min(default, maximum)
    if limit > maximum:
        raise LimitExceededError(name, f"limit {limit} exceeds {name} {maximum}")
    return limit


def page(
    items: list[T], *, limit: int, cursor: str | None, request: Request[object, object, State]
) -> Response[list[T]]:
    """A page; when it is full, `Link: <…?after=cursor&limit=…>; rel="next"` points to the next one."""
    headers = {}
    if cursor is not None and len(items) >= limit:
        query = {**dict(request.query_params), "after": cursor, "limit": str(limit)}
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return Response(items, headers=headers)
