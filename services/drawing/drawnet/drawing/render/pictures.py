"""Images (`image` ops) as the web app draws them (`frontend/js/kinds/image.js`): the stored picture
stretched into the item's box, under its transform; a picture the board does not store (yet) as a grey
placeholder card with a frame, as the web app shows one still loading.

SVG embeds each picture as a data URL, so the export stands on its own; PNG draws it with Skia."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import skia

from drawnet.drawing.render.common import (
    Bounds,
    Image,
    Matrix,
    box_bounds,
    color,
    skia_matrix,
    svg_transform,
    u,
)
from drawnet.protocol import AddImage

Placed = tuple[AddImage, Matrix | None, str | None]
Pictures = Mapping[str, tuple[str, bytes]]
"""The board's stored images by SHA-256: (media type, bytes)."""
PLACEHOLDER_FILL = "#e9ecef"
PLACEHOLDER_LINE = "#adb5bd"
PLACEHOLDER_WIDTH = 2.0


def _svg(item: AddImage, m: Matrix | None, picture: tuple[str, bytes] | None) -> str:
    where = svg_transform(m)
    box = f'x="{u(item.x)}" y="{u(item.y)}" width="{u(item.w)}" height="{u(item.h)}"'
    if picture is None:
        return (
            f'<rect {box} fill="{PLACEHOLDER_FILL}" stroke="{PLACEHOLDER_LINE}" '
            f'stroke-width="{u(PLACEHOLDER_WIDTH)}"{where}/>'
        )
    media_type, data = picture
    href = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
    return f'<image {box} preserveAspectRatio="none" href="{href}"{where}/>'


def draw(canvas: skia.Canvas, parts: Sequence[tuple[AddImage, Matrix | None, bytes | None]]) -> None:
    sampling = skia.SamplingOptions(skia.FilterMode.kLinear, skia.MipmapMode.kLinear)
    paint = skia.Paint(AntiAlias=True)
    for item, m, data in parts:
        canvas.save()
        if m is not None:
            canvas.concat(skia_matrix(m))
        rect = skia.Rect.MakeXYWH(item.x, item.y, item.w, item.h)
        picture = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(data)) if data else None
        if picture is not None:
            canvas.drawImageRect(picture, rect, sampling, paint)
        else:
            canvas.drawRect(rect, skia.Paint(AntiAlias=True, Color=color(PLACEHOLDER_FILL)))
            line = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style, Color=color(PLACEHOLDER_LINE))
            line.setStrokeWidth(PLACEHOLDER_WIDTH)
            canvas.drawRect(rect, line)
        canvas.restore()


@dataclasses.dataclass(frozen=True)
class Layer:
    placed: Sequence[Placed]
    pictures: Pictures

    @property
    def bounds(self) -> Bounds:
        first, *rest = (box_bounds(i.x, i.y, i.x + i.w, i.y + i.h, m) for i, m, _ in self.placed)
        for box in rest:
            first = first.union(box)
        return first

    def ys(self) -> npt.NDArray[np.float64]:
        return np.fromiter(_centres(self.placed), np.float64)

    def svg(self) -> str:
        return "\n".join(_svg(item, m, self.pictures.get(item.image)) for item, m, _ in self.placed)

    def band(self, image: Image, top: int, bottom: int) -> list[tuple[AddImage, Matrix | None, bytes | None]]:  # noqa: ARG002 - Skia clips
        return [(item, m, _bytes(self.pictures.get(item.image))) for item, m, _ in self.placed]


def _bytes(picture: tuple[str, bytes] | None) -> bytes | None:
    return None if picture is None else picture[1]


def _centres(placed: Sequence[Placed]) -> Iterator[float]:
    for item, m, _ in placed:
        box = box_bounds(item.x, item.y, item.x + item.w, item.y + item.h, m)
        yield box.y + box.height / 2


def layer(placed: Sequence[Placed], pictures: Pictures) -> Layer:
    return Layer(placed, pictures)
