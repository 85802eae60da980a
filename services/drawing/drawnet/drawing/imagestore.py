"""A board's images in SQL: stored once per content hash, counted against `max_images_per_board`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing import db
from drawnet.drawing.errors import LimitExceededError
from drawnet.drawing.images import Processed
from drawnet.drawing.models import ImageRow

Pictures = Mapping[str, tuple[str, bytes]]
"""Stored images by SHA-256: (media type, bytes)."""


async def store(
    engine: AsyncEngine, namespace: str, session: str, image: Processed, by: str, *, max_per_board: int
) -> bool:
    """Keep the image for the board; False when the board has it already (same bytes, same name).
    LimitExceededError when the board holds `max_per_board` images already."""
    digest = image.digest
    where = (col(ImageRow.namespace) == namespace, col(ImageRow.session) == session)
    async with engine.begin() as conn:
        present = await conn.scalar(
            select(col(ImageRow.digest)).where(*where, col(ImageRow.digest) == digest)
        )
        if present is not None:
            return False
        count = await conn.scalar(select(func.count()).select_from(ImageRow).where(*where)) or 0
        if count >= max_per_board:
            raise LimitExceededError(
                "max_images_per_board",
                f"the board holds {count} images: max_images_per_board {max_per_board}",
                status=409,
            )
        row = {
            "namespace": namespace,
            "session": session,
            "digest": digest,
            "media_type": image.media_type,
            "width": image.width,
            "height": image.height,
            "size": len(image.data),
            "data": image.data,
            "created_by": by[:64],
            "created_at": time.time(),
        }
        # Two uploads of the same picture at once: the second finds the first's row and stores nothing.
        await conn.execute(db.upsert(conn, ImageRow).values(row).on_conflict_do_nothing())
    return True


async def load(engine: AsyncEngine, namespace: str, session: str, digest: str) -> ImageRow | None:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(ImageRow).where(
                col(ImageRow.namespace) == namespace,
                col(ImageRow.session) == session,
                col(ImageRow.digest) == digest,
            )
        )
        found = result.first()
    return None if found is None else ImageRow.model_validate(found._mapping)  # noqa: SLF001 - SQLAlchemy's API


async def listing(engine: AsyncEngine, namespace: str, session: str) -> list[ImageRow]:
    """The board's images, oldest first, without their bytes (`data` is empty)."""
    columns = [c for c in ImageRow.__table__.columns if c.name != "data"]  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(
            select(*columns)
            .where(col(ImageRow.namespace) == namespace, col(ImageRow.session) == session)
            .order_by(col(ImageRow.created_at), col(ImageRow.digest))
        )
        return [ImageRow.model_validate({**row._mapping, "data": b""}) for row in result]  # noqa: SLF001


async def digests(engine: AsyncEngine, namespace: str, session: str) -> set[str]:
    """The names of every image the board stores."""
    async with engine.connect() as conn:
        result = await conn.scalars(
            select(col(ImageRow.digest)).where(
                col(ImageRow.namespace) == namespace, col(ImageRow.session) == session
            )
        )
        return set(result)


async def copy(
    engine: AsyncEngine, source: tuple[str, str], target: tuple[str, str], digests: Iterable[str]
) -> None:
    """Store the named images of board `source` for board `target` too (a copy of the board)."""
    wanted = sorted(set(digests))
    if not wanted:
        return
    async with engine.begin() as conn:
        result = await conn.execute(
            select(ImageRow).where(
                col(ImageRow.namespace) == source[0],
                col(ImageRow.session) == source[1],
                col(ImageRow.digest).in_(wanted),
            )
        )
        rows = [{**row._mapping, "namespace": target[0], "session": target[1]} for row in result]  # noqa: SLF001
        if rows:
            await conn.execute(db.upsert(conn, ImageRow).values(rows).on_conflict_do_nothing())


async def load_many(
    engine: AsyncEngine, namespace: str, session: str, digests: Iterable[str]
) -> dict[str, tuple[str, bytes]]:
    """The named images the board stores, by digest: (media type, bytes). Names it lacks are left out."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    async with engine.connect() as conn:
        result = await conn.execute(
            select(col(ImageRow.digest), col(ImageRow.media_type), col(ImageRow.data)).where(
                col(ImageRow.namespace) == namespace,
                col(ImageRow.session) == session,
                col(ImageRow.digest).in_(wanted),
            )
        )
        return {digest: (media_type, bytes(data)) for digest, media_type, data in result}
