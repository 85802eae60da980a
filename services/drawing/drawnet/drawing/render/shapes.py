"""The shape's renderer: rectangles, ellipses, diamonds, lines and arrows drawn as the browser draws them
(`frontend/js/kinds/shape.js`): the same outline (`outline()`), the fill under it, round caps and joins,
each painted with the shape's opacity on its own, everything under the item's transform."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import skia

from drawnet.drawing.render.common import Bounds, Image, Matrix, alpha, box_bounds, color, skia_matrix, u
from drawnet.drawing.render.common import svg_transform as transform_attribute
from drawnet.protocol import AddShape

CORNER_SHARE = 0.25
"""kinds/shape.js: a rounded rectangle's corner radius is this share of its shorter side ..."""
MAX_CORNER = 32.0
"""... up to this many board units."""
HEAD_ANGLE = math.pi / 6
"""Each side of an arrowhead leaves the line at this angle."""

Placed = tuple[AddShape, Matrix | None, str | None]


def head_length(width: float, length: float) -> float:
    """kinds/shape.js headLength: an arrowhead grows with the line's width, at most half the line."""
    return min(4 * width + 8, length / 2)


@dataclasses.dataclass(frozen=True, slots=True)
class Outline:
    """What a shape is drawn as, in its own board units: one closed figure (`points` a polygon, or the
    box of an ellipse or a rounded rectangle), or a line with the arrowheads' open chevrons."""

    closed: bool
    points: list[tuple[float, float]]
    ellipse: bool = False
    radius: float = 0.0
    heads: tuple[list[tuple[float, float]], ...] = ()


def outline(shape: AddShape) -> Outline:
    x0, x1 = sorted((shape.x, shape.x + shape.w))
    y0, y1 = sorted((shape.y, shape.y + shape.h))
    match shape.shape:
        case "rect":
            radius = min(MAX_CORNER, CORNER_SHARE * min(x1 - x0, y1 - y0)) if shape.rounded else 0.0
            return Outline(closed=True, points=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], radius=radius)
        case "ellipse":
            return Outline(closed=True, points=[(x0, y0), (x1, y1)], ellipse=True)
        case "diamond":
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            return Outline(closed=True, points=[(cx, y0), (x1, cy), (cx, y1), (x0, cy)])
    start, end = (shape.x, shape.y), (shape.x + shape.w, shape.y + shape.h)
    heads = []
    if shape.end_head:
        heads.append(_head(start, end, shape.width))
    if shape.start_head:
        heads.append(_head(end, start, shape.width))
    return Outline(closed=False, points=[start, end], heads=tuple(heads))


def _head(tail: tuple[float, float], tip: tuple[float, float], width: float) -> list[tuple[float, float]]:
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return []
    size = head_length(width, length)
    ux, uy = dx / length, dy / length
    cos, sin = math.cos(HEAD_ANGLE), math.sin(HEAD_ANGLE)
    left = (tip[0] - size * (ux * cos - uy * sin), tip[1] - size * (uy * cos + ux * sin))
    right = (tip[0] - size * (ux * cos + uy * sin), tip[1] - size * (uy * cos - ux * sin))
    return [left, tip, right]


def local_box(shape: AddShape) -> tuple[float, float, float, float]:
    """What its ink covers in its own units: its box, grown by half the outline and the arrowheads."""
    x0, x1 = sorted((shape.x, shape.x + shape.w))
    y0, y1 = sorted((shape.y, shape.y + shape.h))
    reach = shape.width / 2 + 1
    if shape.shape in {"arrow", "line"} and (shape.start_head or shape.end_head):
        reach += head_length(shape.width, math.hypot(shape.w, shape.h))
    return x0 - reach, y0 - reach, x1 + reach, y1 + reach


# ------------------------------------------------------------------------------------------- SVG


def _svg(shape: AddShape, m: Matrix | None) -> str:
    fig = outline(shape)
    fill = f'fill="{shape.fill}"' if shape.fill and fig.closed else 'fill="none"'
    paint = f'{fill} stroke="{shape.color}" stroke-width="{u(shape.width)}"{alpha(shape.opacity)}'
    where = transform_attribute(m)
    if fig.ellipse:
        (x0, y0), (x1, y1) = fig.points
        return (
            f'<ellipse cx="{u((x0 + x1) / 2)}" cy="{u((y0 + y1) / 2)}" rx="{u((x1 - x0) / 2)}" '
            f'ry="{u((y1 - y0) / 2)}" {paint}{where}/>'
        )
    if fig.closed and fig.radius > 0:
        (x0, y0), _, (x1, y1), _ = fig.points
        r = u(fig.radius)
        return (
            f'<rect x="{u(x0)}" y="{u(y0)}" width="{u(x1 - x0)}" height="{u(y1 - y0)}" rx="{r}" ry="{r}" '
            f"{paint}{where}/>"
        )
    d = "M" + " L".join(f"{u(x)} {u(y)}" for x, y in fig.points) + (" Z" if fig.closed else "")
    for head in fig.heads:
        d += " M" + " L".join(f"{u(x)} {u(y)}" for x, y in head)
    return f'<path d="{d}" {paint}{where}/>'


# ------------------------------------------------------------------------------------------- PNG


def _path(fig: Outline) -> skia.Path:
    path = skia.Path()
    if fig.ellipse:
        (x0, y0), (x1, y1) = fig.points
        path.addOval(skia.Rect.MakeLTRB(x0, y0, x1, y1))
    elif fig.closed and fig.radius > 0:
        (x0, y0), _, (x1, y1), _ = fig.points
        path.addRRect(skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(x0, y0, x1, y1), fig.radius, fig.radius))
    else:
        path.addPoly([skia.Point(x, y) for x, y in fig.points], close=fig.closed)
    for head in fig.heads:
        path.addPoly([skia.Point(x, y) for x, y in head], close=False)
    return path


def draw(canvas: skia.Canvas, placed: Sequence[Placed]) -> None:
    fill = skia.Paint(AntiAlias=True, Style=skia.Paint.kFill_Style)
    line = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style)
    line.setStrokeCap(skia.Paint.kRound_Cap)
    line.setStrokeJoin(skia.Paint.kRound_Join)
    for shape, m, _ in placed:
        fig = outline(shape)
        path = _path(fig)
        canvas.save()
        if m is not None:
            canvas.concat(skia_matrix(m))
        if shape.fill and fig.closed:
            fill.setColor(color(shape.fill, shape.opacity))
            canvas.drawPath(path, fill)
        line.setColor(color(shape.color, shape.opacity))
        line.setStrokeWidth(shape.width)
        canvas.drawPath(path, line)
        canvas.restore()


@dataclasses.dataclass(frozen=True)
class Layer:
    placed: Sequence[Placed]

    @property
    def bounds(self) -> Bounds:
        boxes = (box_bounds(*local_box(shape), m) for shape, m, _ in self.placed)
        first, *rest = boxes
        for box in rest:
            first = first.union(box)
        return first

    def ys(self) -> npt.NDArray[np.float64]:
        return np.fromiter(_centres(self.placed), np.float64)

    def svg(self) -> str:
        return "\n".join(_svg(shape, m) for shape, m, _ in self.placed)

    def band(self, image: Image, top: int, bottom: int) -> Sequence[Placed]:  # noqa: ARG002 - Skia clips
        return self.placed


def _centres(placed: Sequence[Placed]) -> Iterator[float]:
    for shape, m, _ in placed:
        box = box_bounds(*local_box(shape), m)
        yield box.y + box.height / 2


def layer(placed: Sequence[Placed]) -> Layer:
    return Layer(placed)
