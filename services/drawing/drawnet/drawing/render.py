"""Exports: a board drawn exactly as the browser draws it (`frontend/js/render.js`), as SVG or PNG.

The browser strokes each stroke as a few paths: quadratic curves through the midpoints of its points,
round caps and joins, a new path wherever the pressure changes the (quantized) width, each path stroked
with the stroke's opacity on its own; a one-point stroke is a dot. `segments()` says what those paths are,
one stroke at a time (the reference the web app's tests compare with); `_paths()` computes the same paths
for a whole board at once with numpy, and is what the exports use: SVG writes them as <path>s, PNG draws
them with Skia (the 2D library Chromium's canvas uses).
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import skia
from isal import isal_zlib

from drawnet.protocol import AddStroke

WIDTH_STEP = 0.25
"""render.js's WIDTH_STEP: widths are rounded to it, so a pressure curve draws as a few paths."""
MARGIN = 8.0
"""Board units of empty space around the drawing in an export."""
PNG_DEFLATE_LEVEL = 1
"""ISA-L's deflate level (0 to 3) of PNG exports: a 13-megapixel board in 0.09 s, where zlib's level 1
took 0.5 s for a 5 % larger file."""
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
    return _paths(strokes).bounds


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
    paths = _paths(strokes)
    box = paths.bounds
    size = f'width="{_n(box.width)}" height="{_n(box.height)}"'
    view = f"{_u(box.x)} {_u(box.y)} {_u(box.width)} {_u(box.height)}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" {size}>']
    if background:
        out.append(
            f'<rect x="{_u(box.x)}" y="{_u(box.y)}" width="{_u(box.width)}" height="{_u(box.height)}" '
            f'fill="{background}"/>'
        )
    out.append('<g fill="none" stroke-linecap="round" stroke-linejoin="round">')
    if strokes:
        out.append(_svg_shapes(strokes, paths))
    out.append("</g></svg>")
    return "\n".join(out)


_MOVE, _QUAD, _LINE = "M%d %d", "Q%d %d %d %d", "L%d %d"


@functools.lru_cache(maxsize=4096)
def _path_format(quads: int, *, end: bool) -> str:
    return _MOVE + _QUAD * quads + (_LINE if end else "")


@dataclass(frozen=True)
class _Paths:
    """`segments()` of every stroke of a board at once, as arrays: one row per path, in drawing order.

    Path p of stroke `stroke[p]` starts at `coords[start[p]:start[p] + 2]`, has the curves of the points
    `begin[p]:stop[p]` (coords[4 * i:4 * i + 4]: control point, then end point) and, when `end[p]` >= 0, a
    final line to coords[end[p]:end[p] + 2]; a dot has neither, and `width` is its diameter.
    """

    bounds: Bounds
    coords: npt.NDArray[np.float64]
    """x, y, and the midpoint of it and the next point, of every point of every stroke, flat."""
    stroke: npt.NDArray[np.int64]
    width: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    begin: npt.NDArray[np.int64]
    stop: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    dot: npt.NDArray[np.bool_]

    def rows(self) -> Iterator[tuple[int, float, int, bool, bool]]:
        """Each path's stroke, width, number of curves, whether it ends in a line, whether it is a dot."""
        return zip(
            self.stroke.tolist(),
            self.width.tolist(),
            (self.stop - self.begin).tolist(),
            (self.end >= 0).tolist(),
            self.dot.tolist(),
            strict=True,
        )

    def gather(self, coords: npt.NDArray[np.generic]) -> list[float] | list[int]:
        """The coordinates every path names, path after path: start, curves, end (see the class)."""
        count = len(self.start)
        starts = np.column_stack((self.start, 4 * self.begin, np.maximum(self.end, 0))).ravel()
        lengths = np.column_stack(
            (np.full(count, 2), 4 * (self.stop - self.begin), np.where(self.end >= 0, 2, 0))
        ).ravel()
        offsets = np.cumsum(lengths) - lengths
        at = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        values: list[float] | list[int] = coords[at].tolist()
        return values


def _paths(strokes: Sequence[AddStroke]) -> _Paths:
    """The per-point work of `segments()` (widths, midpoints, where the width changes) on arrays of every
    point; a test checks that both give the same paths."""
    if not strokes:
        nothing = np.zeros(0, np.int64)
        empty = Bounds(0.0, 0.0, 64.0, 64.0)
        return _Paths(
            empty, np.zeros(0), nothing, np.zeros(0), nothing, nothing, nothing, nothing, nothing > 0
        )
    counts = np.fromiter((len(stroke.pts) for stroke in strokes), np.int64, len(strokes))
    total = int(counts.sum())
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.chain.from_iterable(s.pts for s in strokes)),
        np.float64,
        total * 3,
    ).reshape(total, 3)
    x, y, pressure = flat[:, 0], flat[:, 1], flat[:, 2]
    firsts = np.cumsum(counts) - counts
    lasts = firsts + counts - 1
    of_point = np.repeat(np.arange(len(strokes)), counts)
    pen = np.fromiter((s.width for s in strokes), np.float64, len(strokes))[of_point]
    widths = np.maximum(WIDTH_STEP, np.floor(pen * (3.0 + 2.0 * pressure) + 0.5) * WIDTH_STEP)
    # Point i's curve: control point i, ending at the midpoint of i and i + 1 (the last point has none).
    mid_x, mid_y = np.empty(total), np.empty(total)
    mid_x[:-1], mid_y[:-1] = (x[:-1] + x[1:]) / 2, (y[:-1] + y[1:]) / 2
    mid_x[-1], mid_y[-1] = x[-1], y[-1]
    # A path opens at each stroke's first point, and at each inner point whose width differs from the
    # point before it (the new path starts at that point's midpoint).
    first = np.zeros(total, bool)
    first[firsts] = True
    inner = ~first
    inner[lasts] = False
    changed = np.zeros(total, bool)
    changed[1:] = widths[1:] != widths[:-1]
    opens = np.flatnonzero(first | (inner & changed))
    stroke = of_point[opens]
    dot = counts[stroke] == 1
    cut = ~first[opens]
    more = np.zeros(len(opens), bool)  # another path of the same stroke follows
    more[:-1] = stroke[1:] == stroke[:-1]
    following = np.append(opens[1:], 0)
    begin = opens + 1
    stop = np.where(dot, begin, np.where(more, following + 1, lasts[stroke]))
    end = np.where(dot | more, -1, 4 * lasts[stroke])
    width = np.where(dot, pen[opens] * (0.75 + 0.5 * pressure[opens]), widths[opens])
    reach = pen * 1.25 / 2  # width_at(pen, 1.0) / 2
    left, top = math.floor(float((x - reach).min()) - MARGIN), math.floor(float((y - reach).min()) - MARGIN)
    right, bottom = math.ceil(float((x + reach).max()) + MARGIN), math.ceil(float((y + reach).max()) + MARGIN)
    box = Bounds(left, top, right - left, bottom - top)
    coords = np.column_stack((x, y, mid_x, mid_y)).ravel()
    return _Paths(box, coords, stroke, width, 4 * opens + np.where(cut, 2, 0), begin, stop, end, dot)


def _svg_shapes(strokes: Sequence[AddStroke], paths: _Paths) -> str:
    """The <path>s and <circle>s of every stroke, in drawing order: one `%` for the whole board, of the
    paths' formats (cached by their number of curves) with their attributes in them."""
    values = paths.gather(np.rint(paths.coords * UNITS).astype(np.int64))
    colors = [stroke.color for stroke in strokes]
    alphas = [f' opacity="{_n(stroke.opacity)}"' if stroke.opacity < 1 else "" for stroke in strokes]
    sizes: dict[float, str] = {}
    formats = []
    for index, width, curves, end, dot in paths.rows():
        if dot:
            formats.append(
                f'<circle cx="%d" cy="%d" r="{_u(width / 2)}" fill="{colors[index]}"{alphas[index]}/>'
            )
            continue
        size = sizes.get(width)
        if size is None:
            size = sizes[width] = _u(width)
        formats.append(
            f'<path d="{_path_format(curves, end=end)}" stroke="{colors[index]}" '
            f'stroke-width="{size}"{alphas[index]}/>'
        )
    # Colours are "#" and six hex digits (protocol.Color): no "%" in a format but the coordinates'.
    return "\n".join(formats) % tuple(values)


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
    paths = _paths(strokes)
    box = paths.bounds
    scale = png_scale(box, scale, max_pixels)
    width, height = max(1, math.floor(box.width * scale)), max(1, math.floor(box.height * scale))
    surface = skia.Surface(width, height)
    canvas = surface.getCanvas()
    canvas.clear(_color(background) if background else skia.ColorTRANSPARENT)
    canvas.scale(scale, scale)
    canvas.translate(-box.x, -box.y)
    _draw(canvas, strokes, paths)
    pixels = surface.makeImageSnapshot().toarray(colorType=skia.kRGBA_8888_ColorType)
    return encode_png(pixels)


def _trace(path: skia.Path, values: Sequence[float], at: int, curves: int, *, end: bool) -> int:
    """Add a path of `_Paths` whose coordinates start at values[at]: where the next one starts."""
    path.moveTo(values[at], values[at + 1])
    at += 2
    for _ in range(curves):
        path.quadTo(values[at], values[at + 1], values[at + 2], values[at + 3])
        at += 4
    if end:
        path.lineTo(values[at], values[at + 1])
        at += 2
    return at


def _draw(canvas: skia.Canvas, strokes: Sequence[AddStroke], paths: _Paths) -> None:
    """Stroke every path of the board, stroke after stroke (see `segments()`)."""
    line = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style)
    line.setStrokeCap(skia.Paint.kRound_Cap)
    line.setStrokeJoin(skia.Paint.kRound_Join)
    fill = skia.Paint(AntiAlias=True, Style=skia.Paint.kFill_Style)
    values = paths.gather(paths.coords)
    at = 0
    drawing = -1
    by_width: dict[float, skia.Path] = {}
    opaque = True

    def finish() -> None:
        for path_width, path in by_width.items():
            line.setStrokeWidth(path_width)
            canvas.drawPath(path, line)
        by_width.clear()

    for index, path_width, curves, end, dot in paths.rows():
        if index != drawing:
            finish()
            drawing, stroke = index, strokes[index]
            color = _color(stroke.color, stroke.opacity)
            line.setColor(color)
            fill.setColor(color)
            # The browser strokes each path on its own: with opacity, where two paths of a stroke overlap
            # the alpha adds up, so they are drawn one by one here too. An opaque stroke looks the same
            # drawn as one path per width, which takes a fraction of the calls.
            opaque = stroke.opacity >= 1
        if dot:
            canvas.drawCircle(values[at], values[at + 1], path_width / 2, fill)
            at += 2
            continue
        if opaque:
            path = by_width.get(path_width)
            if path is None:
                path = by_width[path_width] = skia.Path()
        else:
            path = skia.Path()
        at = _trace(path, values, at, curves, end=end)
        if not opaque:
            line.setStrokeWidth(path_width)
            canvas.drawPath(path, line)
    finish()


def encode_png(rgba: npt.NDArray[np.uint8]) -> bytes:
    """A PNG of RGBA pixels, without row filters and with fast deflate (ISA-L, zlib's format): large
    exports are mostly flat background, which compresses well anyway; many times faster than Skia's
    encoder."""
    height, width, _ = rgba.shape
    rows = np.empty((height, width * 4 + 1), np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = rgba.reshape(height, width * 4)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", isal_zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    idat = isal_zlib.compress(rows.tobytes(), level=PNG_DEFLATE_LEVEL)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
