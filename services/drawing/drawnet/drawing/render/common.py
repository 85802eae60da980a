"""What every kind's renderer shares: the export's box, units and colours."""

from __future__ import annotations

import dataclasses
import functools
import math

import skia

MARGIN = 8.0
"""Board units of empty space around the drawing in an export."""
BACKGROUND = "#fbfbfa"
"""The board's colour in the web app (main.css, `.board`)."""
UNITS = 100
"""SVG user units per board unit: coordinates are written as whole hundredths of a board unit (the viewBox
scales them back), because formatting integers takes a third of the time formatting decimals does."""


@dataclasses.dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float

    def union(self, other: Bounds) -> Bounds:
        x, y = min(self.x, other.x), min(self.y, other.y)
        right = max(self.x + self.width, other.x + other.width)
        bottom = max(self.y + self.height, other.y + other.height)
        return Bounds(x, y, right - x, bottom - y)


EMPTY = Bounds(0.0, 0.0, 64.0, 64.0)
"""What an empty board exports as: a small tile."""


def n(value: float) -> str:
    """A number to 1/100, as short as it gets ("4", "4.5", "4.25")."""
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".")


def u(value: float) -> str:
    """A board coordinate or length in user units."""
    return str(round(value * UNITS))


@functools.lru_cache(maxsize=4096)
def color(hex_color: str, opacity: float = 1.0) -> int:
    """A `#rrggbb` colour with an opacity, as Skia's ARGB."""
    value = int(hex_color[1:], 16)
    alpha = round(max(0.0, min(1.0, opacity)) * 255)
    argb: int = skia.ColorSetARGB(alpha, value >> 16 & 0xFF, value >> 8 & 0xFF, value & 0xFF)
    return argb


@dataclasses.dataclass(frozen=True)
class Image:
    """The PNG being drawn."""

    width: int
    height: int
    scale: float
    """Pixels per board unit."""
    origin: tuple[float, float]
    """The board point at the image's top left corner."""
    background: int | None

    def rows(self, top: int, bottom: int, fringe: float) -> tuple[float, float]:
        """The board's y range the image's rows `top:bottom` show, grown by `fringe` pixels."""
        return self.origin[1] + (top - fringe) / self.scale, self.origin[1] + (bottom + fringe) / self.scale


FRINGE = 2.0
"""Pixels beyond an item's reach that anti-aliasing may touch: a band draws every item within them."""


Matrix = tuple[float, float, float, float, float, float]
"""An affine transform [a, b, c, d, e, f], as the board keeps an item's (protocol `board.compose`)."""


def apply(m: Matrix | None, x: float, y: float) -> tuple[float, float]:
    if m is None:
        return x, y
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def box_bounds(left: float, top: float, right: float, bottom: float, m: Matrix | None) -> Bounds:
    """The export box (with MARGIN, on whole board units) of a local rectangle after a transform."""
    corners = [apply(m, x, y) for x in (left, right) for y in (top, bottom)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    x0, y0 = math.floor(min(xs) - MARGIN), math.floor(min(ys) - MARGIN)
    return Bounds(x0, y0, math.ceil(max(xs) + MARGIN) - x0, math.ceil(max(ys) + MARGIN) - y0)


def skia_matrix(m: Matrix) -> skia.Matrix:
    return skia.Matrix.MakeAll(m[0], m[2], m[4], m[1], m[3], m[5], 0, 0, 1)


def svg_transform(m: Matrix | None) -> str:
    """An SVG `transform` attribute in user units (hundredths of a board unit: the translation scales)."""
    if m is None:
        return ""
    a, b, c, d, e, f = m
    return f' transform="matrix({a!r} {b!r} {c!r} {d!r} {e * UNITS!r} {f * UNITS!r})"'


def alpha(opacity: float) -> str:
    return f' opacity="{n(opacity)}"' if opacity < 1 else ""
