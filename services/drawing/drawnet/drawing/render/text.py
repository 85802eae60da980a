"""The renderers of texts and sticky notes, as the browser draws them (`frontend/js/kinds/text.js` and
`note.js`): DejaVu Sans (`frontend/fonts/`, the file the web app loads), glyphs placed by the font's own
advances (no kerning: the canvas draws with `fontKerning = "none"`), one line per newline, each line's
baseline `ASCENT` font sizes below its top, lines `LINE_HEIGHT` font sizes apart. PNG draws the glyphs
with Skia; SVG writes their outlines as paths, so an SVG looks the same without the font installed."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import skia

from drawnet.drawing.render.common import (
    Bounds,
    Image,
    Matrix,
    alpha,
    box_bounds,
    color,
    skia_matrix,
    svg_transform,
    u,
)
from drawnet.drawing.settings import default_frontend
from drawnet.protocol import AddNote, AddText

FONT_FILE = default_frontend() / "fonts" / "DejaVuSans.ttf"
"""The font every text is drawn with, here and in the web app."""
ASCENT = 1901 / 2048
"""DejaVu Sans's ascender over its units per em (its `hhea` table): a line's baseline below its top."""
LINE_HEIGHT = 1.25
"""Lines are this many font sizes apart."""
NOTE_PADDING = 0.75
"""A note's text is this many font sizes from its card's edges ..."""
MIN_NOTE_PADDING = 8.0
"""... and at least this many board units."""
NOTE_RADIUS = 6.0
"""A note's card's corners."""

Placed = tuple[AddText | AddNote, Matrix | None, str | None]


@functools.cache
def typeface(path: Path = FONT_FILE) -> skia.Typeface:
    face = skia.Typeface.MakeFromFile(str(path))
    if face is None:
        msg = f"cannot read the font {path}"
        raise RuntimeError(msg)
    return face


@functools.lru_cache(maxsize=256)
def font(size: float) -> skia.Font:
    """The font at a size, unhinted with linear advances: glyphs where the browser's canvas puts them."""
    made = skia.Font(typeface(), size)
    made.setHinting(skia.FontHinting.kNone)
    made.setSubpixel(True)
    made.setLinearMetrics(True)
    made.setEdging(skia.Font.Edging.kAntiAlias)
    return made


def line_width(line: str, size: float) -> float:
    width: float = font(size).measureText(line)
    return width


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """Where each line's glyphs start (left end of the line, its baseline) in the item's own units."""

    lines: list[tuple[str, float, float]]
    box: tuple[float, float, float, float]
    """The text's (or the card's) box: left, top, right, bottom."""


def note_padding(size: float) -> float:
    return max(MIN_NOTE_PADDING, NOTE_PADDING * size)


def note_height(note: AddNote, text: str) -> float:
    """A card grows with its text, and is at least square."""
    lines = text.split("\n")
    return max(note.w, 2 * note_padding(note.size) + len(lines) * LINE_HEIGHT * note.size)


def layout(item: AddText | AddNote, text: str | None) -> Layout:
    text = item.text if text is None else text
    size = item.size
    lines = text.split("\n")
    widths = [line_width(line, size) for line in lines]
    if isinstance(item, AddNote):
        pad = note_padding(size)
        left, top, right = item.x + pad, item.y + pad, item.x + item.w - pad
        anchor = {"left": left, "center": (left + right) / 2, "right": right}[item.align]
        box = (item.x, item.y, item.x + item.w, item.y + note_height(item, text))
    else:
        anchor, top = item.x, item.y
        widest = max(widths)
        start = {"left": anchor, "center": anchor - widest / 2, "right": anchor - widest}[item.align]
        box = (start, top, start + widest, top + len(lines) * LINE_HEIGHT * size)
    placed = []
    for i, (line, width) in enumerate(zip(lines, widths, strict=True)):
        x = {"left": anchor, "center": anchor - width / 2, "right": anchor - width}[item.align]
        placed.append((line, x, top + i * LINE_HEIGHT * size + ASCENT * size))
    return Layout(placed, box)


# ------------------------------------------------------------------------------------------- SVG


def _svg_path(path: skia.Path) -> str:
    out = []
    iterator = skia.Path.Iter(path, forceClose=False)
    while True:
        verb, points = iterator.next()
        if verb == skia.Path.Verb.kDone_Verb:
            break
        if verb == skia.Path.Verb.kMove_Verb:
            out.append(f"M{u(points[0].fX)} {u(points[0].fY)}")
        elif verb == skia.Path.Verb.kLine_Verb:
            out.append(f"L{u(points[1].fX)} {u(points[1].fY)}")
        elif verb == skia.Path.Verb.kQuad_Verb:
            out.append(f"Q{u(points[1].fX)} {u(points[1].fY)} {u(points[2].fX)} {u(points[2].fY)}")
        elif verb == skia.Path.Verb.kCubic_Verb:
            c = points
            out.append(f"C{u(c[1].fX)} {u(c[1].fY)} {u(c[2].fX)} {u(c[2].fY)} {u(c[3].fX)} {u(c[3].fY)}")
        elif verb == skia.Path.Verb.kClose_Verb:
            out.append("Z")
    return "".join(out)


def _glyphs(line: str, size: float, x: float, y: float) -> skia.Path:
    """A line's glyph outlines, placed."""
    made = font(size)
    glyphs = made.textToGlyphs(line)
    advances = made.getWidths(glyphs)
    path = skia.Path()
    pen = x
    for glyph, advance in zip(glyphs, advances, strict=True):
        outline = made.getPath(glyph)
        if outline is not None:
            path.addPath(outline, pen, y)
        pen += advance
    return path


def _svg(item: AddText | AddNote, m: Matrix | None, text: str | None) -> str:
    laid = layout(item, text)
    out = []
    where = svg_transform(m)
    if isinstance(item, AddNote):
        x0, y0, x1, y1 = laid.box
        out.append(
            f'<rect x="{u(x0)}" y="{u(y0)}" width="{u(x1 - x0)}" height="{u(y1 - y0)}" '
            f'rx="{u(NOTE_RADIUS)}" ry="{u(NOTE_RADIUS)}" fill="{item.fill}" stroke="none"{where}/>'
        )
    opacity = item.opacity if isinstance(item, AddText) else 1.0
    for line, x, y in laid.lines:
        if line.strip():
            d = _svg_path(_glyphs(line, item.size, x, y))
            out.append(f'<path d="{d}" fill="{item.color}" stroke="none"{alpha(opacity)}{where}/>')
    return "\n".join(out)


# ------------------------------------------------------------------------------------------- PNG


def draw(canvas: skia.Canvas, placed: Sequence[Placed]) -> None:
    paint = skia.Paint(AntiAlias=True, Style=skia.Paint.kFill_Style)
    for item, m, text in placed:
        laid = layout(item, text)
        canvas.save()
        if m is not None:
            canvas.concat(skia_matrix(m))
        if isinstance(item, AddNote):
            paint.setColor(color(item.fill))
            x0, y0, x1, y1 = laid.box
            canvas.drawRRect(
                skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(x0, y0, x1, y1), NOTE_RADIUS, NOTE_RADIUS), paint
            )
        paint.setColor(color(item.color, item.opacity if isinstance(item, AddText) else 1.0))
        made = font(item.size)
        for line, x, y in laid.lines:
            canvas.drawString(line, x, y, made, paint)
        canvas.restore()


@dataclasses.dataclass(frozen=True)
class Layer:
    placed: Sequence[Placed]

    @property
    def bounds(self) -> Bounds:
        boxes = [box_bounds(*layout(item, text).box, m) for item, m, text in self.placed]
        first = boxes[0]
        for box in boxes[1:]:
            first = first.union(box)
        return first

    def ys(self) -> npt.NDArray[np.float64]:
        return np.array([item.y for item, _, _ in self.placed], np.float64)

    def svg(self) -> str:
        return "\n".join(_svg(item, m, text) for item, m, text in self.placed)

    def band(self, image: Image, top: int, bottom: int) -> Sequence[Placed]:  # noqa: ARG002 - Skia clips
        return self.placed


def layer(placed: Sequence[Placed]) -> Layer:
    return Layer(placed)
