"""Images on boards: uploads (checked, stripped, re-encoded: `images.py`) and the stored files, served at
their content hash with long-lived, immutable caching."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from drawnet.drawing import imagestore, metrics
from drawnet.drawing.access import READERS, WRITERS, Caller, require
from drawnet.drawing.api.sessions import SessionPath, access_to
from drawnet.drawing.context import Context
from drawnet.drawing.errors import DrawingError, LimitExceededError, NotFoundError
from drawnet.drawing.images import ImageLimits, ImageRefused, process

TAG = ["images"]
IMMUTABLE = "private, max-age=31536000, immutable"
"""A stored image never changes under its name (its SHA-256), so a browser keeps it for a year without
asking again. Private: a private board's images are for those who may read the board."""

Digest = Annotated[
    str, Parameter(pattern=r"^[0-9a-f]{64}$", description="the image's SHA-256 (what an `image` op names)")
]


class StoredImage(msgspec.Struct, frozen=True):
    image: str
    """Its SHA-256: the `image` of an `image` op that places it."""
    url: str
    """Where it is served (relative to this service)."""
    media_type: str
    width: int
    height: int
    bytes: int
    stored: bool
    """False when the board had this very image already (nothing new was stored)."""


class UnsupportedImageError(DrawingError):
    status, problem, title = 415, "unsupported-image", "Not an image this service takes"


class BrokenImageError(DrawingError):
    status, problem, title = 422, "broken-image", "The image cannot be decoded"


def image_url(ref: str, digest: str) -> str:
    return f"/api/v1/sessions/{ref}/images/{digest}"


@post(
    "/api/v1/sessions/{session:str}/images",
    tags=TAG,
    status_code=201,
    summary="Upload an image for the board (owner, editor): PNG, JPEG, WebP or GIF, as the request body",
    description="The body is the file itself (any Content-Type). It is checked by decoding it, never by its "
    "name or header: anything but a PNG, JPEG, WebP or GIF is 415; a picture declaring more than "
    "`max_image_pixels` is 413 before it is decoded; a truncated or corrupt one is 422. Its metadata (EXIF, "
    "ICC, text) is dropped, it is scaled down to `max_image_side` and re-encoded; a board stores at most "
    "`max_images_per_board` different images (409). Place it with an `image` op naming `image`.",
)
async def upload_image(
    ctx: Context, caller: Caller, session: SessionPath, request: Request[object, object, State]
) -> StoredImage:
    access = await access_to(ctx, caller, session)
    require(access, WRITERS, caller, "add images to this board")
    settings = ctx.settings
    upload = await request.body()
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels, settings.max_image_side)
    async with ctx.export_gate.turn():
        try:
            processed = await asyncio.to_thread(process, upload, limits)
        except ImageRefused as refused:
            metrics.IMAGES_REFUSED.labels(refused.limit).inc()
            if refused.status == 415:
                raise UnsupportedImageError(refused.reason, limit=refused.limit) from refused
            if refused.status == 422:
                raise BrokenImageError(refused.reason, limit=refused.limit) from refused
            raise LimitExceededError(refused.limit, refused.reason, status=refused.status) from refused
    by = access.claims.sub if access.claims else caller.user.id if caller.user else "upload"
    stored = await imagestore.store(
        ctx.engine,
        access.namespace,
        access.name,
        processed,
        by,
        max_per_board=settings.max_images_per_board,
    )
    if stored:
        metrics.IMAGES_STORED.inc()
    return StoredImage(
        image=processed.digest,
        url=image_url(access.ref, processed.digest),
        media_type=processed.media_type,
        width=processed.width,
        height=processed.height,
        bytes=len(processed.data),
        stored=stored,
    )


@get(
    "/api/v1/sessions/{session:str}/images/{digest:str}",
    tags=TAG,
    summary="A stored image of the board, by its SHA-256 (cached for a year: it never changes)",
    media_type="application/octet-stream",
)
async def get_image(ctx: Context, caller: Caller, session: SessionPath, digest: Digest) -> Response[bytes]:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "read this board")
    row = await imagestore.load(ctx.engine, access.namespace, access.name, digest)
    if row is None:
        raise NotFoundError(f"board {access.ref!r} has no image {digest}")
    return Response(
        row.data,
        media_type=row.media_type,
        headers={
            "Cache-Control": IMMUTABLE,
            "ETag": f'"{digest}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


class ImageInfo(msgspec.Struct, frozen=True):
    image: str
    url: str
    media_type: str
    width: int
    height: int
    bytes: int
    created_by: str
    created_at: float


@get(
    "/api/v1/sessions/{session:str}/images", tags=TAG, summary="The images the board stores (not their bytes)"
)
async def list_images(ctx: Context, caller: Caller, session: SessionPath) -> list[ImageInfo]:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "read this board")
    rows = await imagestore.listing(ctx.engine, access.namespace, access.name)
    return [
        ImageInfo(
            image=row.digest,
            url=image_url(access.ref, row.digest),
            media_type=row.media_type,
            width=row.width,
            height=row.height,
            bytes=row.size,
            created_by=row.created_by,
            created_at=row.created_at,
        )
        for row in rows
    ]


ROUTES = [upload_image, list_images, get_image]
"""Registered with `max_image_bytes` as their body limit (`app.py`)."""
