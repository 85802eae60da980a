"""Thumbnails for the lobby's cards: the board drawn small by the export renderer, cached per board seq.

Like the exports, a thumbnail's entity tag names the board's seq (ops never change once stored): a
browser revalidates (`304`, nothing loaded or drawn), and this process keeps the last
`thumbnail_cache` thumbnails it drew, so a lobby opened by many people draws each board once per change.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from litestar import Request, Response, get
from litestar.datastructures import State

from drawnet.drawing import metrics, render
from drawnet.drawing.access import Caller
from drawnet.drawing.api.boards import NOT_MODIFIED, Export, _pictures
from drawnet.drawing.api.sessions import SessionPath
from drawnet.drawing.context import Context

TAG = ["boards"]
WIDTH, HEIGHT = 320, 200
"""A thumbnail's largest size, in pixels (the board keeps its proportions inside it)."""


class ThumbnailCache:
    """The last thumbnails drawn, by entity tag (board, seq, renderer): least recently used go first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, etag: str) -> bytes | None:
        found = self._items.get(etag)
        if found is not None:
            self._items.move_to_end(etag)
        return found

    def put(self, etag: str, png: bytes) -> None:
        if self.capacity <= 0:
            return
        self._items[etag] = png
        self._items.move_to_end(etag)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


def _cache(ctx: Context) -> ThumbnailCache:
    cache = ctx.extra.get("thumbnails")
    if not isinstance(cache, ThumbnailCache):
        cache = ThumbnailCache(ctx.settings.thumbnail_cache)
        ctx.extra["thumbnails"] = cache
    return cache


@get(
    "/api/v1/sessions/{session:str}/thumbnail.png",
    tags=TAG,
    media_type="image/png",
    summary=f"The board drawn small for the lobby (at most {WIDTH}x{HEIGHT} pixels), cached per seq",
    responses=NOT_MODIFIED,
)
async def thumbnail(
    ctx: Context, caller: Caller, session: SessionPath, request: Request[object, object, State]
) -> Response[bytes]:
    export = Export(ctx, session, "thumbnail", WIDTH, HEIGHT)
    cache = _cache(ctx)
    async with ctx.export_gate.turn():
        stored = await export.board(caller, request, None)
        if isinstance(stored, Response):
            return stored
        seq = stored.board.seq
        png = cache.get(export.etag(seq))
        if png is None:
            metrics.THUMBNAILS_DRAWN.inc()
            placed = stored.board.placed()
            images = await _pictures(ctx, session, stored.board)
            box = render.bounds(placed)
            scale = min(WIDTH / box.width, HEIGHT / box.height)
            png = await asyncio.to_thread(
                render.png, placed, scale=scale, max_pixels=WIDTH * HEIGHT, images=images
            )
            cache.put(export.etag(seq), png)
    headers = {"ETag": export.etag(seq), "Cache-Control": "no-cache"}
    return Response(png, media_type="image/png", headers=headers)


ROUTES = [thumbnail]
