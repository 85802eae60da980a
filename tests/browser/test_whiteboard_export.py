"""The PNG export draws every kind of item like the canvas: one of everything is drawn with the tools, the
board is exported, and the export's pixels are compared with the canvas's own.

Tolerance, and why: both sides are Skia (Chromium's canvas and skia-python), but not the same build,
settings or path: Chromium rasterizes glyphs with hinting and its own font cache while the export draws
unhinted outlines, its rounded rectangles and ellipses are cubic approximations where the export uses
conics, and anti-aliased edges land on different sub-pixel coverage. So the test compares only where
there is ink (a pixel that differs from the board's colour by more than 48 in some channel, on either
side; the canvas's grid dots stay under that), and asks that at least 90 % of those pixels agree within
64 per channel and that the mean difference over them stays under 24: an item missing, moved by a few
pixels, in another colour or font, or without its transform fails it (the test was checked against a
export with the note left out), while edge anti-aliasing does not."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skia

from tests.browser.board_page import BoardPage
from tests.browser.conftest import OpenBoard

pytestmark = pytest.mark.browser

BACKGROUND = np.array([0xFB, 0xFB, 0xFA])
INK = 48
AGREE = 64
SHARE_AGREEING = 0.90
MEAN_DIFFERENCE = 24


def rgb(png: bytes) -> np.ndarray[Any, Any]:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(png))
    assert image is not None
    rgba: np.ndarray[Any, Any] = image.convert(
        colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType
    ).toarray()
    return rgba[..., :3].astype(np.int32)


def test_the_png_export_matches_the_canvas_for_every_kind(open_board: OpenBoard, tmp_path: Path) -> None:
    ann = open_board(f"wb-export-{uuid.uuid4().hex[:8]}", "Ann", color="#1e1e1e")
    draw_one_of_everything(ann)

    canvas_png = base64.b64decode(
        ann.page.evaluate("document.getElementById('canvas').toDataURL('image/png')").split(",", 1)[1]
    )
    (tmp_path / "canvas.png").write_bytes(canvas_png)
    exported = tmp_path / "export.png"
    ann.download("png").save_as(exported)
    svg = tmp_path / "export.svg"
    ann.download("svg").save_as(svg)

    canvas, export = rgb(canvas_png), rgb(exported.read_bytes())
    ratio = ann.page.evaluate("window.devicePixelRatio")
    assert ratio == 1
    # Where the export's top left corner is on the canvas: the SVG's viewBox says where it starts.
    view = svg.read_text().split('viewBox="', 1)[1].split('"', 1)[0].split()
    left, top = float(view[0]) / 100, float(view[1]) / 100
    camera = ann.state()["camera"]
    x0, y0 = round(left - camera["x"]), round(top - camera["y"])
    height, width = export.shape[:2]
    assert min(x0, y0) >= 0
    assert (y0 + height, x0 + width) <= canvas.shape[:2]
    shown = canvas[y0 : y0 + height, x0 : x0 + width]
    ink = (np.abs(shown - BACKGROUND).max(axis=2) > INK) | (np.abs(export - BACKGROUND).max(axis=2) > INK)
    difference = np.abs(shown - export).max(axis=2)[ink]
    agreeing = float((difference <= AGREE).mean())
    assert ink.sum() > 20_000, "the board should hold a lot of ink"
    assert agreeing >= SHARE_AGREEING, f"only {agreeing:.1%} of {ink.sum()} ink pixels agree"
    assert float(difference.mean()) < MEAN_DIFFERENCE


def draw_one_of_everything(ann: BoardPage) -> None:
    ann.pick_color("1e1e1e")
    ann.pick_tool("pen")
    ann.draw_stroke([(120, 120), (180, 160), (240, 120), (300, 170)])
    for tool, start, end in (
        ("line", (120, 220), (300, 260)),
        ("arrow", (120, 300), (300, 300)),
        ("rect", (360, 120), (500, 200)),
        ("ellipse", (540, 120), (680, 200)),
        ("diamond", (720, 120), (840, 220)),
    ):
        ann.pick_tool(tool)
        ann.drag(start, end)
    ann.press("f")  # filled from here on
    ann.pick_color("1971c2")
    ann.pick_tool("rect")
    ann.drag((360, 260), (500, 340))
    ann.pick_tool("text")
    ann.click((560, 260))
    ann.type_text("Drawnet\nexports")
    ann.finish_text()
    ann.pick_tool("note")
    ann.click((760, 280))
    ann.type_text("a note")
    ann.finish_text()
    # One of them turned a quarter, so transforms are compared too.
    ann.pick_tool("select")
    ann.click((430, 300))  # the filled rectangle (its rotation handle is clear of the toolbar)
    ann.page.evaluate(
        """() => {
          const hook = window.__drawnet;
          const id = hook.snapshot().selection[0];
          const r = hook.renderer.boundsOf(id);
          window.__turn = {id, cx: r.x + r.w / 2, cy: r.y + r.h / 2, top: r.y};
        }"""
    )
    turn = ann.page.evaluate("window.__turn")
    camera = ann.state()["camera"]
    handle = (turn["cx"] - camera["x"], turn["top"] - 24 - camera["y"])  # select.js ROTATE_PX above
    ann.drag(handle, (turn["cx"] - camera["x"] + 200, turn["cy"] - camera["y"]), shift=True)
    ann.press("Escape")
    ann.expect_items(["stroke", "shape", "shape", "shape", "shape", "shape", "shape", "text", "note"])
    ann._wait("(s) => s.placed.some(([, m]) => m !== null)")
