"""The stroke's renderer: a board's strokes drawn exactly as the browser draws them
(`frontend/js/kinds/stroke.js`), as SVG elements and as Skia paths.

The browser strokes each stroke as a few paths: quadratic curves through the midpoints of its points,
round caps and joins, a new path wherever the pressure changes the (quantized) width, each path stroked
with the stroke's opacity on its own; a one-point stroke is a dot. `segments()` says what those paths are,
one stroke at a time (the reference the web app's tests compare with); `paths()` computes the same paths
for a run of strokes at once with numpy, and is what the exports use.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterator, Sequence

import msgspec
import numpy as np
import numpy.typing as npt
import skia

from drawnet.drawing.render.common import FRINGE, MARGIN, UNITS, Bounds, Image, Matrix, n, u
from drawnet.protocol import AddStroke

WIDTH_STEP = 0.25
"""render.js's WIDTH_STEP: widths are rounded to it, so a pressure curve draws as a few paths."""

Move = tuple[float, float]
Quad = tuple[float, float, float, float]


def width_at(width: float, pressure: float) -> float:
    """ink.js widthAt: pressure scales the pen's width from 75% to 125% (100% at 0.5)."""
    return width * (0.75 + 0.5 * pressure)


def quantize(width: float) -> float:
    # Math.round in JavaScript rounds halves up.
    return max(WIDTH_STEP, math.floor(width / WIDTH_STEP + 0.5) * WIDTH_STEP)


@dataclasses.dataclass(frozen=True, slots=True)
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


_MOVE, _QUAD, _LINE = "M%d %d", "Q%d %d %d %d", "L%d %d"


@functools.lru_cache(maxsize=4096)
def _path_format(quads: int, *, end: bool) -> str:
    return _MOVE + _QUAD * quads + (_LINE if end else "")


def _spans(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """starts[0]:starts[0] + lengths[0], then starts[1]:... as one array of indices."""
    offsets = np.cumsum(lengths) - lengths
    at: npt.NDArray[np.int64] = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    return at


@dataclasses.dataclass(frozen=True)
class Paths:
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
    low: npt.NDArray[np.float64]
    """Per stroke: its points' least y."""
    high: npt.NDArray[np.float64]
    """Per stroke: its points' greatest y."""
    reach: npt.NDArray[np.float64]
    """Per stroke: how far its ink reaches beyond its points (half its widest width)."""

    def select(self, keep: npt.NDArray[np.bool_]) -> Paths:
        """Only the paths where `keep` is true (same coordinates, same strokes)."""
        return dataclasses.replace(
            self,
            stroke=self.stroke[keep],
            width=self.width[keep],
            start=self.start[keep],
            begin=self.begin[keep],
            stop=self.stop[keep],
            end=self.end[keep],
            dot=self.dot[keep],
        )

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
        values: list[float] | list[int] = coords[self.indices()].tolist()
        return values

    def indices(self) -> npt.NDArray[np.int64]:
        """Where in `coords` the values `gather()` gives are."""
        count = len(self.start)
        starts = np.column_stack((self.start, 4 * self.begin, np.maximum(self.end, 0))).ravel()
        lengths = np.column_stack(
            (np.full(count, 2), 4 * (self.stop - self.begin), np.where(self.end >= 0, 2, 0))
        ).ravel()
        return _spans(starts, lengths)


def paths(strokes: Sequence[AddStroke]) -> Paths:
    """The per-point work of `segments()` (widths, midpoints, where the width changes) on arrays of every
    point; a test checks that both give the same paths."""
    if not strokes:
        nothing = np.zeros(0, np.int64)
        empty = Bounds(0.0, 0.0, 64.0, 64.0)
        none = np.zeros(0)
        return Paths(
            empty, none, nothing, none, nothing, nothing, nothing, nothing, nothing > 0, none, none, none
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
    pens = pen[firsts]
    return Paths(
        box,
        coords,
        stroke,
        width,
        4 * opens + np.where(cut, 2, 0),
        begin,
        stop,
        end,
        dot,
        low=np.minimum.reduceat(y, firsts),
        high=np.maximum.reduceat(y, firsts),
        reach=pens * 1.25 / 2,
    )


def svg_elements(strokes: Sequence[AddStroke], paths: Paths) -> str:
    """The <path>s and <circle>s of every stroke, in drawing order: one `%` for the whole board, of the
    paths' formats (cached by their number of curves) with their attributes in them."""
    values = paths.gather(np.rint(paths.coords * UNITS).astype(np.int64))
    colors = [stroke.color for stroke in strokes]
    alphas = [f' opacity="{n(stroke.opacity)}"' if stroke.opacity < 1 else "" for stroke in strokes]
    sizes: dict[float, str] = {}
    formats = []
    for index, width, curves, end, dot in paths.rows():
        if dot:
            formats.append(
                f'<circle cx="%d" cy="%d" r="{u(width / 2)}" fill="{colors[index]}"{alphas[index]}/>'
            )
            continue
        size = sizes.get(width)
        if size is None:
            size = sizes[width] = u(width)
        formats.append(
            f'<path d="{_path_format(curves, end=end)}" stroke="{colors[index]}" '
            f'stroke-width="{size}"{alphas[index]}/>'
        )
    # Colours are "#" and six hex digits (protocol.Color): no "%" in a format but the coordinates'.
    return "\n".join(formats) % tuple(values)


def _colors(strokes: Sequence[AddStroke], opacity: npt.NDArray[np.float64]) -> npt.NDArray[np.uint32]:
    """`common.color()` of every stroke at once: a board's colours are all different, more than its
    cache holds."""
    rgb = np.frombuffer(bytes.fromhex("".join([s.color[1:] for s in strokes])), np.uint8)
    rgb = rgb.reshape(-1, 3).astype(np.uint32)
    alpha = np.rint(np.clip(opacity, 0.0, 1.0) * 255).astype(np.uint32)  # round(): halves to even
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    argb: npt.NDArray[np.uint32] = (alpha << 24 | red << 16 | green << 8 | blue).astype(np.uint32)
    return argb


@dataclasses.dataclass(frozen=True)
class Band:
    """The strokes one band of a PNG draws: the paths that reach its rows (rows of `Paths`, with their
    coordinates gathered), in the board's drawing order."""

    stroke: npt.NDArray[np.int64]
    color: npt.NDArray[np.uint32]
    opaque: npt.NDArray[np.bool_]
    size: npt.NDArray[np.float64]
    curves: npt.NDArray[np.int64]
    end: npt.NDArray[np.bool_]
    dot: npt.NDArray[np.bool_]
    values: npt.NDArray[np.float32]


@dataclasses.dataclass(frozen=True)
class Layer:
    """A run of strokes, ready to be drawn: their paths, colours and opacities."""

    strokes: Sequence[AddStroke]
    paths: Paths
    colors: npt.NDArray[np.uint32]
    opaque: npt.NDArray[np.bool_]

    @property
    def bounds(self) -> Bounds:
        return self.paths.bounds

    def ys(self) -> npt.NDArray[np.float64]:
        """Every point's y: where the drawing work is, for cutting a PNG into bands."""
        ys: npt.NDArray[np.float64] = self.paths.coords[1::4]
        return ys

    def svg(self) -> str:
        return svg_elements(self.strokes, self.paths)

    def band(self, image: Image, top: int, bottom: int) -> Band:
        return band(self, image, top, bottom)


def transformed(stroke: AddStroke, m: Matrix | None) -> AddStroke:
    """A stroke under a transform, as kinds/stroke.js draws it: its points moved, its width scaled by
    the square root of the transform's area factor."""
    if m is None:
        return stroke
    a, b, c, d, e, f = m
    pts = [(a * x + c * y + e, b * x + d * y + f, p) for x, y, p in stroke.pts]
    width = stroke.width * math.sqrt(abs(a * d - b * c))
    return msgspec.structs.replace(stroke, pts=pts, width=width)


def layer(placed: Sequence[tuple[AddStroke, Matrix | None, str | None]]) -> Layer:
    strokes = [transformed(stroke, m) for stroke, m, _ in placed]
    opacity = np.fromiter((s.opacity for s in strokes), np.float64, len(strokes))
    return Layer(strokes, paths(strokes), _colors(strokes, opacity), opacity >= 1)


def band(layer: Layer, image: Image, top: int, bottom: int) -> Band:
    paths = layer.paths
    selected = paths
    if top > 0 or bottom < image.height:
        # The paths of the strokes that reach into the image's rows top:bottom.
        above, below = image.rows(top, bottom, FRINGE)
        reaches = (paths.high + paths.reach >= above) & (paths.low - paths.reach <= below)
        selected = paths.select(reaches[paths.stroke])
    return Band(
        stroke=selected.stroke,
        color=layer.colors[selected.stroke],
        opaque=layer.opaque[selected.stroke],
        size=selected.width,
        curves=selected.stop - selected.begin,
        end=selected.end >= 0,
        dot=selected.dot,
        # Skia's coordinates are 32-bit floats: the same points, in half the bytes to send.
        values=selected.coords[selected.indices()].astype(np.float32),
    )


SKIA_PATH_VERSION = 5
"""The version of SkPath's serialized form (`SkPath::writeToMemory`) that `_serialized()` writes: the
first int32 (with fill type 0, winding, in bits 8-15), then the int32 counts of points, conic weights
and verbs, the points as float32 pairs, the verbs as bytes (0 move, 1 line, 2 quad), zeros to a multiple
of four bytes. `Path.readFromMemory` refuses anything else, and `draw` fails loudly if it does."""
_MOVE_VERB, _LINE_VERB, _QUAD_VERB = 0, 1, 2
_HEADER_BYTES = 16


@dataclasses.dataclass(frozen=True)
class _Serialized:
    """A band's drawing, one item per `drawPath` (or dot), in drawing order: an opaque stroke's paths
    of one width as one SkPath, each path of a translucent stroke as its own (see `draw`)."""

    data: npt.NDArray[np.uint8]
    """The SkPaths back to back, serialized (`SKIA_PATH_VERSION`)."""
    offset: npt.NDArray[np.int64]
    """Where each item's SkPath starts in `data` (a dot's is -1)."""
    color: npt.NDArray[np.uint32]
    width: npt.NDArray[np.float64]
    """The stroke width, or a dot's diameter."""
    x: npt.NDArray[np.float32]
    """A dot's centre (0 for a path)."""
    y: npt.NDArray[np.float32]


def _serialized(band: Band) -> _Serialized:
    """The SkPaths `draw` strokes, built with numpy: one Python call per path instead of one per verb."""
    count = len(band.stroke)
    points = np.where(band.dot, 1, 1 + 2 * band.curves + band.end)
    first_value = np.cumsum(2 * points) - 2 * points  # where each path's points start in band.values
    # Each path's item is the first path of its stroke with its width when the stroke is opaque, else
    # its own; items are drawn in the order of the paths that open them.
    item = np.arange(count)
    merged = np.flatnonzero(band.opaque & ~band.dot)
    if len(merged):
        widths = np.unique(band.size[merged], return_inverse=True)[1]
        key = band.stroke[merged] * (int(widths.max()) + 1) + widths
        _, firsts, which = np.unique(key, return_index=True, return_inverse=True)
        item[merged] = merged[firsts][which]
    order = np.argsort(item, kind="stable")
    opens = np.ones(count, bool)
    opens[1:] = item[order][1:] != item[order][:-1]
    heads = order[opens]  # each item's first path
    of_item = np.cumsum(opens) - 1  # item number of each path of `order`
    items = len(heads)
    is_dot = band.dot[heads]

    # Sizes: a dot has no SkPath; a path's is its header, points and verbs (padded to four bytes).
    paths = order[~band.dot[order]]
    path_item = of_item[~band.dot[order]]
    item_points = np.bincount(path_item, points[paths], items).astype(np.int64)
    item_verbs = np.bincount(path_item, (1 + band.curves + band.end)[paths], items).astype(np.int64)
    size = np.where(is_dot, 0, _HEADER_BYTES + 8 * item_points + (item_verbs + 3) // 4 * 4)
    offset = np.cumsum(size) - size
    data = np.zeros(int(size.sum()), np.uint8)
    words = data.view(np.int32)
    serialized = np.flatnonzero(~is_dot)
    header = offset[serialized] // 4
    words[header] = SKIA_PATH_VERSION
    words[header + 1] = item_points[serialized]
    words[header + 3] = item_verbs[serialized]
    # The points: each item's paths' values, one after another, after its header.
    values = band.values[_spans(first_value[paths], 2 * points[paths])]
    floats = data.view(np.float32)
    item_values = 2 * item_points[serialized]
    floats[_spans(header + _HEADER_BYTES // 4, item_values)] = values
    # The verbs: a move, a quad per curve, a line if it ends in one; after the item's points.
    path_verbs = 1 + band.curves[paths] + band.end[paths]
    verbs = np.full(int(path_verbs.sum()), _QUAD_VERB, np.uint8)
    starts = np.cumsum(path_verbs) - path_verbs
    verbs[starts] = _MOVE_VERB
    ends = band.end[paths]
    verbs[(starts + path_verbs - 1)[ends]] = _LINE_VERB
    after_points = offset[serialized] + _HEADER_BYTES + 8 * item_points[serialized]
    data[_spans(after_points, item_verbs[serialized])] = verbs
    centre = first_value[heads]
    return _Serialized(
        data=data,
        offset=np.where(is_dot, -1, offset),
        color=band.color[heads],
        width=band.size[heads],
        x=np.where(is_dot, band.values[centre], 0).astype(np.float32),
        y=np.where(is_dot, band.values[centre + 1], 0).astype(np.float32),
    )


def draw(canvas: skia.Canvas, band: Band) -> None:
    """Stroke every path of the band, stroke after stroke, as the browser does (see `segments()`).

    The browser strokes each path on its own: with opacity, where two paths of a stroke overlap the
    alpha adds up, so a translucent stroke's paths are drawn one by one here too. An opaque stroke looks
    the same drawn as one path per width, which takes a fraction of the calls.
    """
    line = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style)
    line.setStrokeCap(skia.Paint.kRound_Cap)
    line.setStrokeJoin(skia.Paint.kRound_Join)
    fill = skia.Paint(AntiAlias=True, Style=skia.Paint.kFill_Style)
    drawing = _serialized(band)
    data = drawing.data.data
    rows = zip(
        drawing.offset.tolist(),
        drawing.color.tolist(),
        drawing.width.tolist(),
        drawing.x.tolist(),
        drawing.y.tolist(),
        strict=True,
    )
    path = skia.Path()  # each item read into it in turn: readFromMemory replaces what it held
    read, draw = path.readFromMemory, canvas.drawPath
    set_color, set_width = line.setColor, line.setStrokeWidth
    for offset, color, width, x, y in rows:
        if offset < 0:
            fill.setColor(color)
            canvas.drawCircle(x, y, width / 2, fill)
            continue
        if not read(data[offset:]):
            msg = f"Skia {skia.__version__} does not read SkPath version {SKIA_PATH_VERSION}"
            raise RuntimeError(msg)
        set_color(color)
        set_width(width)
        draw(path, line)
