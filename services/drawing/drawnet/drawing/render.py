"""Exports: a board drawn exactly as the browser draws it (`frontend/js/render.js`), as SVG or PNG.

The browser strokes each stroke as a few paths: quadratic curves through the midpoints of its points,
round caps and joins, a new path wherever the pressure changes the (quantized) width, each path stroked
with the stroke's opacity on its own; a one-point stroke is a dot. `segments()` computes those paths once;
SVG writes them as <path>s, PNG draws them with Skia (the 2D library Chromium's canvas uses).
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import skia

from drawnet.protocol import AddStroke

WIDTH_STEP = 0.25
"""render.js's WIDTH_STEP: widths are rounded to it, so a pressure curve draws as a few paths."""
MARGIN = 8.0
"""Board units of empty space around the drawing in an export."""
PNG_DEFLATE_LEVEL = 1
"""zlib level of PNG exports: speed over a few per cent of size."""
BACKGROUND = "#fbfbfa"
"""The board's colour in the web app (main.css, `.board`)."""

Move = tuple[float, float]
Quad = tuple[float, float, float, float]


def width_at(width: float, pressure: float) -> float:
    """ink.js widthAt: pressure scales the pen's width from 75% to 125% (100% at 0.5)."""
    return width * (0.75 + 0.5 * pressure)


def quantize(width: float) -> float:
    # Math.round in JavaScript rounds halves up.
    return max(WIDTH_STEP, math.floor(width / WIDTH_STEP + 0.5) * WIDTH_STEP)


@dataclass(frozen=True, slots=True)
class Segment:
    """One path the browser strokes: start, quadratic curves, an optional final line; or a dot."""

    color: str
    opacity: float
    width: float
    start: Move
    quads: Sequence[Quad]
    end: Move | None
    dot: bool = False


def segments(stroke: AddStroke) -> Iterator[Segment]:
    pts = stroke.pts
    color, opacity, pen = stroke.color, stroke.opacity, stroke.width
    first = pts[0]
    if len(pts) == 1:
        yield Segment(color, opacity, width_at(pen, first[2]), (first[0], first[1]), (), None, dot=True)
        return
    # quantize(width_at(pen, pressure)) for every point, inline: this loop runs for every point exported.
    widths = [max(WIDTH_STEP, math.floor(pen * (3.0 + 2.0 * p) + 0.5) * WIDTH_STEP) for _, _, p in pts]
    width = widths[0]
    start: Move = (first[0], first[1])
    quads: list[Quad] = []
    for i in range(1, len(pts) - 1):
        x, y, _ = pts[i]
        next_x, next_y, _ = pts[i + 1]
        mid = ((x + next_x) / 2, (y + next_y) / 2)
        quads.append((x, y, *mid))
        if widths[i] != width:
            yield Segment(color, opacity, width, start, quads, None)
            start, quads, width = mid, [], widths[i]
    last = pts[-1]
    yield Segment(color, opacity, width, start, quads, (last[0], last[1]))


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float


def bounds(strokes: Sequence[AddStroke]) -> Bounds:
    """What the export shows: every stroke, with its width and a margin; an empty board is a small tile."""
    if not strokes:
        return Bounds(0.0, 0.0, 64.0, 64.0)
    left = top = math.inf
    right = bottom = -math.inf
    for stroke in strokes:
        reach = width_at(stroke.width, 1.0) / 2
        xs = [p[0] for p in stroke.pts]
        ys = [p[1] for p in stroke.pts]
        left, right = min(left, min(xs) - reach), max(right, max(xs) + reach)
        top, bottom = min(top, min(ys) - reach), max(bottom, max(ys) + reach)
    left, top = math.floor(left - MARGIN), math.floor(top - MARGIN)
    return Bounds(left, top, math.ceil(right + MARGIN) - left, math.ceil(bottom + MARGIN) - top)


# ------------------------------------------------------------------------------------------- SVG


def _n(value: float) -> str:
    """A number to 1/100, as short as it gets ("4", "4.5", "4.25")."""
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".")


UNITS = 100
"""SVG user units per board unit: coordinates are written as whole hundredths of a board unit (the viewBox
scales them back), because formatting integers takes a third of the time formatting decimals does."""


def _u(value: float) -> str:
    """A board coordinate or length in user units."""
    return str(round(value * UNITS))


def svg(strokes: Sequence[AddStroke], *, background: str | None = BACKGROUND) -> str:
    box = bounds(strokes)
    size = f'width="{_n(box.width)}" height="{_n(box.height)}"'
    view = f"{_u(box.x)} {_u(box.y)} {_u(box.width)} {_u(box.height)}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" {size}>']
    if background:
        out.append(
            f'<rect x="{_u(box.x)}" y="{_u(box.y)}" width="{_u(box.width)}" height="{_u(box.height)}" '
            f'fill="{background}"/>'
        )
    out.append('<g fill="none" stroke-linecap="round" stroke-linejoin="round">')
    out.extend(_svg_shapes(strokes))
    out.append("</g></svg>")
    return "\n".join(out)


_MOVE, _QUAD, _LINE = "M%d %d", "Q%d %d %d %d", "L%d %d"


@functools.lru_cache(maxsize=4096)
def _path_format(quads: int, *, end: bool) -> str:
    return _MOVE + _QUAD * quads + (_LINE if end else "")


def _svg_shapes(strokes: Sequence[AddStroke]) -> Iterator[str]:
    """`segments()` for the whole board at once, with numpy: the <path>s and <circle>s, in stroke order.

    The per-point work (widths, midpoints, where the width changes, rounding) is done on arrays of every
    point; Python is left with one `%` per path, whose format is cached by the number of its curves.
    """
    if not strokes:
        return
    counts = np.fromiter((len(stroke.pts) for stroke in strokes), np.int64, len(strokes))
    total = int(counts.sum())
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.chain.from_iterable(s.pts for s in strokes)),
        np.float64,
        total * 3,
    ).reshape(total, 3)
    x, y, pressure = flat[:, 0], flat[:, 1], flat[:, 2]
    firsts = np.cumsum(counts) - counts
    pen = np.repeat(np.fromiter((s.width for s in strokes), np.float64, len(strokes)), counts)
    widths = np.maximum(WIDTH_STEP, np.floor(pen * (3.0 + 2.0 * pressure) + 0.5) * WIDTH_STEP)
    # Point i's curve: control point i, ending at the midpoint of i and i + 1 (the last point has none).
    mid_x, mid_y = np.empty(total), np.empty(total)
    mid_x[:-1], mid_y[:-1] = (x[:-1] + x[1:]) / 2, (y[:-1] + y[1:]) / 2
    mid_x[-1], mid_y[-1] = x[-1], y[-1]
    quads = np.rint(np.column_stack((x, y, mid_x, mid_y)) * UNITS).astype(np.int64).ravel().tolist()
    # A new path starts at an inner point whose width differs from the point before it.
    inner = np.ones(total, bool)
    inner[firsts] = False
    inner[firsts + counts - 1] = False
    changed = np.zeros(total, bool)
    changed[1:] = widths[1:] != widths[:-1]
    cuts = np.flatnonzero(inner & changed).tolist()
    cut_at = np.searchsorted(cuts, firsts).tolist()
    width_list = widths.tolist()
    sizes = {w: _u(w) for w in set(width_list)}
    for stroke, first, count, cut in zip(strokes, firsts.tolist(), counts.tolist(), cut_at, strict=True):
        alpha = f' opacity="{_n(stroke.opacity)}"' if stroke.opacity < 1 else ""
        style = f'" stroke="{stroke.color}" stroke-width="'
        if count == 1:
            cx, cy, pressure_at = stroke.pts[0]
            yield (
                f'<circle cx="{_u(cx)}" cy="{_u(cy)}" r="{_u(width_at(stroke.width, pressure_at) / 2)}" '
                f'fill="{stroke.color}"{alpha}/>'
            )
            continue
        last = first + count - 1
        start = quads[4 * first : 4 * first + 2]
        begin, width = first + 1, width_list[first]
        c = cut
        while c < len(cuts) and cuts[c] < last:
            at = cuts[c]
            d = _path_format(at + 1 - begin, end=False) % (*start, *quads[4 * begin : 4 * at + 4])
            yield f'<path d="{d}{style}{sizes[width]}"{alpha}/>'
            start, begin, width = quads[4 * at + 2 : 4 * at + 4], at + 1, width_list[at]
            c += 1
        values = (*start, *quads[4 * begin : 4 * last], *quads[4 * last : 4 * last + 2])
        d = _path_format(last - begin, end=True) % values
        yield f'<path d="{d}{style}{sizes[width]}"{alpha}/>'


# ------------------------------------------------------------------------------------------- PNG


@functools.lru_cache(maxsize=4096)
def _color(hex_color: str, opacity: float = 1.0) -> int:
    value = int(hex_color[1:], 16)
    alpha = round(max(0.0, min(1.0, opacity)) * 255)
    color: int = skia.ColorSetARGB(alpha, value >> 16 & 0xFF, value >> 8 & 0xFF, value & 0xFF)
    return color


def png_scale(box: Bounds, scale: float, max_pixels: int) -> float:
    """`scale`, reduced so that the image holds at most `max_pixels` pixels."""
    pixels = box.width * box.height * scale * scale
    if pixels <= max_pixels:
        return scale
    return scale * math.sqrt(max_pixels / pixels)


def png(
    strokes: Sequence[AddStroke], *, scale: float = 1.0, max_pixels: int, background: str | None = BACKGROUND
) -> bytes:
    box = bounds(strokes)
    scale = png_scale(box, scale, max_pixels)
    width, height = max(1, math.floor(box.width * scale)), max(1, math.floor(box.height * scale))
    surface = skia.Surface(width, height)
    canvas = surface.getCanvas()
    canvas.clear(_color(background) if background else skia.ColorTRANSPARENT)
    canvas.scale(scale, scale)
    canvas.translate(-box.x, -box.y)
    line = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style)
    line.setStrokeCap(skia.Paint.kRound_Cap)
    line.setStrokeJoin(skia.Paint.kRound_Join)
    fill = skia.Paint(AntiAlias=True, Style=skia.Paint.kFill_Style)
    for stroke in strokes:
        color = _color(stroke.color, stroke.opacity)
        line.setColor(color)
        fill.setColor(color)
        # The browser strokes each path on its own: with opacity, where two paths of a stroke overlap the
        # alpha adds up, so they are drawn one by one here too. An opaque stroke looks the same drawn as
        # one path per width, which takes a fraction of the calls.
        opaque = stroke.opacity >= 1
        by_width: dict[float, skia.Path] = {}
        for seg in segments(stroke):
            if seg.dot:
                canvas.drawCircle(seg.start[0], seg.start[1], seg.width / 2, fill)
                continue
            if opaque:
                path = by_width.get(seg.width)
                if path is None:
                    path = by_width[seg.width] = skia.Path()
            else:
                path = skia.Path()
            path.moveTo(*seg.start)
            for cx, cy, x, y in seg.quads:
                path.quadTo(cx, cy, x, y)
            if seg.end is not None:
                path.lineTo(*seg.end)
            if not opaque:
                line.setStrokeWidth(seg.width)
                canvas.drawPath(path, line)
        for path_width, path in by_width.items():
            line.setStrokeWidth(path_width)
            canvas.drawPath(path, line)
    pixels = surface.makeImageSnapshot().toarray(colorType=skia.kRGBA_8888_ColorType)
    return encode_png(pixels)


def encode_png(rgba: npt.NDArray[np.uint8]) -> bytes:
    """A PNG of RGBA pixels, without row filters and with fast deflate: large exports are mostly flat
    background, which compresses well anyway, and this is three times faster than Skia's encoder."""
    height, width, _ = rgba.shape
    rows = np.empty((height, width * 4 + 1), np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = rgba.reshape(height, width * 4)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    idat = zlib.compress(rows.tobytes(), level=PNG_DEFLATE_LEVEL)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
