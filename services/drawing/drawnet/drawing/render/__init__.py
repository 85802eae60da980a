"""Exports: a board drawn exactly as the browser draws it (`frontend/js/render.js`), as SVG or PNG.

The board's items, bottom to top, are cut into runs of one kind; each kind's module (`strokes.py`, one
per kind, like the web app's `frontend/js/kinds/`) makes a run into a layer that knows its bounds, its SVG
elements and what each band of a PNG draws of it. SVG writes the layers' elements in order; PNG draws
them with Skia (the 2D library Chromium's canvas uses), in horizontal bands on the export workers when
the board is large.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import itertools
import math
import struct
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import skia
from isal import isal_zlib

from drawnet.drawing.render import pictures, shapes, strokes, text
from drawnet.drawing.render.common import BACKGROUND, EMPTY, MARGIN, UNITS, Bounds, Image, Matrix, color, n, u
from drawnet.drawing.render.strokes import WIDTH_STEP, Segment, quantize, segments, width_at
from drawnet.protocol.messages import Item

__all__ = [
    "BACKGROUND",
    "MARGIN",
    "PARALLEL_POINTS",
    "PNG_DEFLATE_LEVEL",
    "RENDERER",
    "UNITS",
    "WIDTH_STEP",
    "Bounds",
    "Segment",
    "adler32_combine",
    "bounds",
    "png",
    "png_scale",
    "quantize",
    "segments",
    "svg",
    "width_at",
]

RENDERER = f"drawnet {importlib.metadata.version('drawnet')}, skia-python {skia.__version__}"
"""What draws the exports: part of their entity tags, so that another version's drawing is fetched anew."""
PNG_DEFLATE_LEVEL = 1
"""ISA-L's deflate level (0 to 3) of PNG exports: a 13-megapixel board in 0.09 s, where zlib's level 1
took 0.5 s for a 5 % larger file."""
PARALLEL_POINTS = 20_000
"""A board of at least this many points is drawn in bands, one per export worker (when there are any):
below it, shipping the paths to the workers costs more than drawing them here."""

Placed = tuple[Item, Matrix | None, str | None]
"""An item as the board shows it: with its transform and its edited text (`Board.placed()`)."""


class Layer(Protocol):
    """A run of items of one kind, ready to be drawn (each kind's module makes its own)."""

    @property
    def bounds(self) -> Bounds: ...

    def ys(self) -> npt.NDArray[np.float64]: ...

    def svg(self) -> str: ...

    def band(self, image: Image, top: int, bottom: int) -> object: ...


_LAYERS: dict[str, Callable[[Sequence[Any]], Layer]] = {
    "stroke": strokes.layer,
    "shape": shapes.layer,
    "text": text.layer,
    "note": text.layer,
}
"""Each kind's layer maker, by the op's `kind` (texts and notes share one: they interleave freely)."""
_DRAW: dict[str, Callable[[skia.Canvas, Any], None]] = {
    "stroke": strokes.draw,
    "shape": shapes.draw,
    "text": text.draw,
    "note": text.draw,
    "image": pictures.draw,
}
"""Each kind's band painter, by the op's `kind` (the bands travel to the workers with the kind's name)."""


def _layers(
    items: Sequence[Item | Placed], images: pictures.Pictures | None = None
) -> list[tuple[str, Layer]]:
    """The board's items as runs of one kind, bottom to top (`images`: the stored pictures images show)."""
    placed = [item if isinstance(item, tuple) else (item, None, None) for item in items]
    runs = itertools.groupby(placed, _kind)
    return [(kind, _layer(kind, list(run), images)) for kind, run in runs]


def _layer(kind: str, run: list[Any], images: pictures.Pictures | None) -> Layer:
    return pictures.layer(run, images or {}) if kind == "image" else _LAYERS[kind](run)


def _kind(placed: Placed) -> str:
    """The op's `kind` (its msgspec tag)."""
    return str(type(placed[0]).__struct_config__.tag)


def _bounds(layers: Sequence[tuple[str, Layer]]) -> Bounds:
    box: Bounds | None = None
    for _, layer in layers:
        box = layer.bounds if box is None else box.union(layer.bounds)
    return box or EMPTY


def bounds(items: Sequence[Item | Placed]) -> Bounds:
    """What the export shows: every item, with its width and a margin; an empty board is a small tile."""
    return _bounds(_layers(items))


# ------------------------------------------------------------------------------------------- SVG


def svg(
    items: Sequence[Item | Placed],
    *,
    background: str | None = BACKGROUND,
    images: pictures.Pictures | None = None,
) -> str:
    layers = _layers(items, images)
    box = _bounds(layers)
    size = f'width="{n(box.width)}" height="{n(box.height)}"'
    view = f"{u(box.x)} {u(box.y)} {u(box.width)} {u(box.height)}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" {size}>']
    if background:
        out.append(
            f'<rect x="{u(box.x)}" y="{u(box.y)}" width="{u(box.width)}" height="{u(box.height)}" '
            f'fill="{background}"/>'
        )
    out.append('<g fill="none" stroke-linecap="round" stroke-linejoin="round">')
    out.extend(layer.svg() for _, layer in layers)
    out.append("</g></svg>")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------- PNG


def png_scale(box: Bounds, scale: float, max_pixels: int) -> float:
    """`scale`, reduced so that the image holds at most `max_pixels` pixels."""
    pixels = box.width * box.height * scale * scale
    if pixels <= max_pixels:
        return scale
    return scale * math.sqrt(max_pixels / pixels)


@dataclasses.dataclass(frozen=True)
class _Band:
    """What one worker draws: the image's rows `top:top + height`, and what of each layer reaches them,
    in the board's drawing order (with each layer's kind, whose module paints it)."""

    image: Image
    top: int
    height: int
    last: bool
    """The band at the bottom of the image: its deflate stream ends the image's."""
    parts: list[tuple[str, object]]


def png(
    items: Sequence[Item | Placed],
    *,
    scale: float = 1.0,
    max_pixels: int,
    background: str | None = BACKGROUND,
    workers: Executor | None = None,
    bands: int = 1,
    on_bands: Callable[[int], object] | None = None,
    images: pictures.Pictures | None = None,
) -> bytes:
    """The board as a PNG. With `workers` (processes: Skia holds the GIL while it draws), a board of at
    least `PARALLEL_POINTS` points is cut into `bands` horizontal bands drawn and deflated side by side
    (then `on_bands(bands)`); the pixels are the same as drawn in one piece."""
    layers = _layers(items, images)
    box = _bounds(layers)
    scale = png_scale(box, scale, max_pixels)
    width, height = max(1, math.floor(box.width * scale)), max(1, math.floor(box.height * scale))
    image = Image(width, height, scale, (box.x, box.y), color(background) if background else None)
    ys = np.concatenate([layer.ys() for _, layer in layers]) if layers else np.zeros(0)
    if workers is None or len(ys) < PARALLEL_POINTS:
        bands = 1
    jobs = (_band(layers, image, top, bottom) for top, bottom in _cuts(ys, image, bands))
    if workers is not None and bands > 1:
        done = [future.result() for future in [workers.submit(_render, job) for job in jobs]]
        if on_bands is not None:
            on_bands(len(done))
    else:
        done = [_render(job) for job in jobs]
    checksum = done[0][1]
    for _, adler, length in done[1:]:
        checksum = adler32_combine(checksum, adler, length)
    # zlib's header (deflate, 32 KiB window, "fastest"), the bands' deflate streams, then the checksum:
    # the image data, in pieces joined once, into the PNG.
    idat = [b"\x78\x01", *(data for data, _, _ in done), struct.pack(">I", checksum)]
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", *_chunk(b"IHDR", [header]), *_chunk(b"IDAT", idat), *_chunk(b"IEND", [])]
    )


def _band(layers: Sequence[tuple[str, Layer]], image: Image, top: int, bottom: int) -> _Band:
    parts = [(kind, layer.band(image, top, bottom)) for kind, layer in layers]
    return _Band(image, top, bottom - top, bottom == image.height, parts)


def _cuts(ys: npt.NDArray[np.float64], image: Image, bands: int) -> list[tuple[int, int]]:
    """Rows where bands begin and end: as many points (`ys`, board units) above each cut as below, so
    the bands take about as long to draw."""
    if bands <= 1:
        return [(0, image.height)]
    at = (ys - image.origin[1]) * image.scale
    rows = np.quantile(at, np.arange(1, bands) / bands).round().astype(np.int64).clip(0, image.height)
    edges = sorted({0, *rows.tolist(), image.height})
    return list(itertools.pairwise(edges))


def _render(band: _Band) -> tuple[bytes, int, int]:
    """Draw a band and deflate its PNG rows: the raw deflate stream (ending the image's if the band is
    the last, else flushed to a byte boundary so the next band's stream can follow it), and the rows'
    Adler-32 and length."""
    # On a surface of the whole image, each path where it would be in one piece, and not clipped: Skia's
    # anti-aliasing depends on both, and this way every pixel of the band comes out as it does when the
    # image is drawn whole. Memory that nothing draws on is never touched.
    image, top, height = band.image, band.top, band.height
    surface = skia.Surface(image.width, image.height)
    canvas = surface.getCanvas()
    canvas.save()
    canvas.clipRect(skia.Rect(0, top, image.width, top + height))
    canvas.clear(image.background if image.background is not None else skia.ColorTRANSPARENT)
    canvas.restore()
    canvas.scale(image.scale, image.scale)
    canvas.translate(-image.origin[0], -image.origin[1])
    for kind, part in band.parts:
        _DRAW[kind](canvas, part)
    rgba = np.empty((height, image.width, 4), np.uint8)
    # On an opaque background premultiplied alpha is the same and needs no conversion.
    alpha = skia.kUnpremul_AlphaType if image.background is None else skia.kPremul_AlphaType
    info = skia.ImageInfo.Make(image.width, height, skia.kRGBA_8888_ColorType, alpha)
    surface.readPixels(skia.Pixmap(info, rgba, image.width * 4), 0, top)
    rows = bytearray(height * (image.width * 4 + 1))  # zeros: each row's filter type, None
    view = np.frombuffer(rows, np.uint8).reshape(height, image.width * 4 + 1)
    view[:, 1:] = rgba.reshape(height, image.width * 4)
    raw = memoryview(rows)
    deflate = isal_zlib.compressobj(PNG_DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
    data = deflate.compress(raw) + deflate.flush(isal_zlib.Z_FINISH if band.last else isal_zlib.Z_SYNC_FLUSH)
    return data, isal_zlib.adler32(raw), len(raw)


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings end to end, from theirs (zlib's adler32_combine, which Python's
    zlib does not expose): how the bands' checksums become the image's."""
    base = 65521
    rem = second_length % base
    low = (first & 0xFFFF) + (second & 0xFFFF) + base - 1
    high = (rem * (first & 0xFFFF)) % base + (first >> 16) + (second >> 16) + base - rem
    return (low % base) | ((high % base) << 16)


def _chunk(kind: bytes, data: list[bytes]) -> list[bytes]:
    """A PNG chunk of `kind` holding `data` joined, in pieces."""
    crc = isal_zlib.crc32(kind)
    for piece in data:
        crc = isal_zlib.crc32(piece, crc)
    return [struct.pack(">I", sum(map(len, data))), kind, *data, struct.pack(">I", crc)]
