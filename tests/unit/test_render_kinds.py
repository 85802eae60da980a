"""The export renderer's shapes, texts and notes (`drawnet.drawing.render.shapes`, `.text`): the same
geometry and font as the web app's `frontend/js/kinds/`, under each item's transform."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import skia

from drawnet.drawing import render
from drawnet.drawing.render import shapes, text
from drawnet.protocol import AddNote, AddShape, AddText


def pixels(png: bytes) -> np.ndarray[Any, Any]:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(png))
    rgba: np.ndarray[Any, Any] = image.convert(colorType=skia.kRGBA_8888_ColorType).toarray()
    return rgba


def test_the_font_shipped_is_the_one_whose_ascent_the_layout_uses() -> None:
    metrics = text.font(100.0).getMetrics()
    assert -metrics.fAscent / 100 == pytest.approx(text.ASCENT, abs=1e-3)
    assert text.FONT_FILE.name == "DejaVuSans.ttf"
    assert (text.FONT_FILE.parent / "LICENSE-DejaVu.txt").is_file()


def test_an_arrowhead_is_two_strokes_back_from_the_tip_at_thirty_degrees() -> None:
    arrow = AddShape(id="a", shape="arrow", x=0, y=0, w=100, h=0, color="#1e1e1e", width=2, end_head=True)
    (head,) = shapes.outline(arrow).heads
    left, tip, right = head
    assert tip == pytest.approx((100.0, 0.0))
    size = shapes.head_length(2, 100)
    assert left == pytest.approx((100 - size * math.cos(math.pi / 6), -size * 0.5))
    assert right == pytest.approx((100 - size * math.cos(math.pi / 6), size * 0.5))


def test_a_note_grows_with_its_text_and_is_at_least_square() -> None:
    note = AddNote(id="n", x=0, y=0, w=100, text="one", size=20, fill="#ffec99")
    assert text.note_height(note, "one") == 100
    tall = text.note_height(note, "\n".join("x" * 10))
    assert tall == 2 * text.note_padding(20) + 10 * text.LINE_HEIGHT * 20


def test_a_rotated_filled_rectangle_is_painted_where_its_transform_puts_it() -> None:
    box = AddShape(id="b", shape="rect", x=0, y=0, w=100, h=20, color="#1971c2", width=2, fill="#ff0000")
    turned = (0.0, 1.0, -1.0, 0.0, 0.0, 0.0)  # a quarter turn: the box now stands from y 0 to 100
    placed = [(box, turned, None)]
    bounds = render.bounds(placed)
    assert (bounds.width, bounds.height) == pytest.approx((20 + 2 * 10 + 2, 100 + 2 * 10 + 2), abs=2)
    image = pixels(render.png(placed, max_pixels=10**6))
    centre = image[round(50 - bounds.y), round(-10 - bounds.x)]
    assert tuple(centre[:3]) == (255, 0, 0)


def test_text_is_drawn_as_glyph_outlines_in_svg_and_as_ink_in_png() -> None:
    label = AddText(id="t", x=0, y=0, text="Hi\nthere", size=40, color="#000000")
    svg = render.svg([label], background=None)
    assert svg.count('<path d="M') == 2  # one path per line, made of the glyphs' outlines
    assert "<text" not in svg  # the same letters without the font installed
    image = pixels(render.png([label], max_pixels=10**6))
    assert image[..., 3].max() == 255
    box = text.layout(label, None).box
    assert box[3] - box[1] == 2 * text.LINE_HEIGHT * 40


def test_an_edited_text_is_laid_out_with_its_new_text() -> None:
    note = AddNote(id="n", x=0, y=0, w=200, text="a", size=20, fill="#ffec99")
    laid = text.layout(note, "first\nsecond")
    assert [line for line, _, _ in laid.lines] == ["first", "second"]
