"""Exports from the board's menu: a PNG with the drawing in its pixels, an SVG, and a JSON export that
imports into another board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import skia

from tests.browser.conftest import OpenBoard

pytestmark = pytest.mark.browser

BACKGROUND = (0xFB, 0xFB, 0xFA)
RED = (0xE0, 0x31, 0x31)


def pixels(path: Path) -> list[tuple[int, int, int]]:
    """The RGB pixels of a PNG, decoded by Skia."""
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(path.read_bytes()))
    assert image is not None, "not a PNG"
    rgba = image.convert(colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType).tobytes()
    return [(rgba[i], rgba[i + 1], rgba[i + 2]) for i in range(0, len(rgba), 4)]


def near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_the_png_export_downloads_the_drawing(open_board: OpenBoard, tmp_path: Path) -> None:
    ann = open_board("export-png", "Ann", color="#e03131")
    ann.pick_color("e03131")
    ann.draw_stroke([(200, 200), (400, 260), (600, 220)])
    ann.draw_stroke([(200, 400), (600, 420)])
    ann.expect_strokes(2)

    download = ann.download("png")

    assert download.suggested_filename.startswith("export-png-")
    assert download.suggested_filename.endswith(".png")
    path = tmp_path / "board.png"
    download.save_as(path)
    image = pixels(path)
    inked = [pixel for pixel in image if not near(pixel, BACKGROUND, 8)]
    assert len(inked) > 500, f"only {len(inked)} of {len(image)} pixels are not background"
    assert sum(near(pixel, RED) for pixel in inked) > 300


def test_the_svg_export_has_the_strokes(open_board: OpenBoard, tmp_path: Path) -> None:
    ann = open_board("export-svg", "Ann")
    ann.pick_color("2f9e44")
    ann.draw_stroke([(200, 200), (400, 260)])
    ann.expect_strokes(1)

    path = tmp_path / "board.svg"
    ann.download("svg").save_as(path)

    svg = path.read_text()
    assert svg.startswith("<svg")
    assert 'stroke="#2f9e44"' in svg


def test_a_json_export_imports_into_another_board(open_board: OpenBoard, tmp_path: Path) -> None:
    ann = open_board("export-json", "Ann")
    for row in range(3):
        ann.draw_stroke([(200, 150 + 80 * row), (500, 180 + 80 * row)])
    ann.expect_strokes(3)
    path = tmp_path / "board.json"
    ann.download("json").save_as(path)
    exported = json.loads(path.read_text())
    assert [stroke["id"] for stroke in exported["strokes"]] == ann.state()["ids"]

    bob = open_board("import-json", "Bob")
    bob.import_json(path)

    bob.expect_toast("Imported 3 strokes")
    bob.expect_strokes(3)
    assert bob.state()["ids"] == ann.state()["ids"]
