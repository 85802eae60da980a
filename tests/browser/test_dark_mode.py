"""Dark mode in real Chromium with an emulated colour scheme: the page follows prefers-color-scheme, a
toggle overrides it and is remembered, the canvas and the ink read well in both (light ink on a dark board
in dark mode), and exports keep the board's own colours whatever the theme."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import skia

from drawnet.testkit import pictures
from tests.browser.board_page import BoardPage
from tests.browser.conftest import NewPerson, OpenBoard

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

pytestmark = pytest.mark.browser

INK = "1e1e1e"
GREEN = "#2f9e44"


def rgb(png: bytes) -> np.ndarray[Any, Any]:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(png))
    assert image is not None
    rgba: np.ndarray[Any, Any] = image.convert(
        colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType
    ).toarray()
    return rgba[..., :3].astype(np.int32)


def theme(person: BoardPage) -> str:
    value: str = person.page.evaluate("document.documentElement.dataset.theme")
    return value


def canvas_pixels(person: BoardPage) -> np.ndarray[Any, Any]:
    """What the person sees of the canvas (its screenshot, filters applied), in CSS pixels."""
    return rgb(person.canvas.screenshot(scale="css"))


def brightness(pixel: np.ndarray[Any, Any]) -> float:
    return float(pixel.mean())


def test_the_page_follows_the_system_and_the_ink_reads_well_in_both(open_board: OpenBoard) -> None:
    dana = open_board("dark-board", "Dana", color_scheme="dark")
    lee = open_board("dark-board", "Lee", color_scheme="light")
    assert (theme(dana), theme(lee)) == ("dark", "light")
    assert dana.page.get_by_test_id("theme-toggle").get_attribute("aria-pressed") == "true"
    lee.pick_color(INK)
    lee.pick_tool("pen")
    lee.page.get_by_test_id("pen-width").fill("12")
    lee.draw_stroke([(150, 400), (650, 400)])
    dana.expect_strokes(1)
    dana.page.mouse.move(*dana.screen((900, 650)))  # the cursor off the stroke
    lee.page.mouse.move(*lee.screen((900, 650)))
    dana.page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")

    dark, light = canvas_pixels(dana), canvas_pixels(lee)
    # The same board: dark ink on a light board for Lee, light ink on a dark board for Dana.
    assert brightness(light[400, 400]) < 60
    assert brightness(light[250, 400]) > 240
    assert brightness(dark[400, 400]) > 190
    assert brightness(dark[250, 400]) < 30
    # The board itself is unchanged: both hold the same stroke in its own colour.
    assert dana.page.evaluate("window.__drawnet.board.strokes[0].color") == f"#{INK}"


def test_the_toggle_wins_over_the_system_and_is_remembered(new_person: NewPerson) -> None:
    dana = new_person("Dana", color_scheme="dark")
    dana.go_to_lobby()
    assert theme(dana) == "dark"
    dana.page.get_by_test_id("lobby-theme-toggle").click()
    assert theme(dana) == "light"
    dana.page.reload()
    dana.page.get_by_test_id("lobby-session").wait_for()
    assert theme(dana) == "light"  # remembered across pages
    dana.page.emulate_media(color_scheme="light")
    dana.page.emulate_media(color_scheme="dark")
    assert theme(dana) == "light"

    # Without a choice, the page follows the system as it changes.
    sam = new_person("Sam", color_scheme="light")
    sam.open("theme-follow")
    assert theme(sam) == "light"
    sam.page.emulate_media(color_scheme="dark")
    sam.page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    filtered = sam.page.evaluate("getComputedStyle(document.querySelector('canvas')).filter")
    assert "invert" in filtered
    body = sam.page.evaluate("getComputedStyle(document.querySelector('.title-card')).backgroundColor")
    assert body.startswith("rgba(37, 38, 43")


def test_exports_keep_the_boards_own_colours_in_dark_mode(open_board: OpenBoard) -> None:
    dana = open_board("dark-export", "Dana", color_scheme="dark")
    dana.pick_color(INK)
    dana.page.get_by_test_id("pen-width").fill("12")
    dana.draw_stroke([(150, 300), (650, 300)])
    dana.expect_strokes(1)

    png = rgb(dana.download("png").path().read_bytes())
    corner = png[2, 2]
    assert brightness(corner) > 240  # the board's light background, not the dark screen's
    darkest = png.reshape(-1, 3)[png.reshape(-1, 3).sum(axis=1).argmin()]
    assert list(darkest) == [0x1E, 0x1E, 0x1E]  # the ink as drawn, not as shown


def test_pictures_are_not_inverted_in_dark_mode(open_board: OpenBoard) -> None:
    lee = open_board("dark-picture", "Lee", color_scheme="light")
    dana = open_board("dark-picture", "Dana", color_scheme="dark")
    with lee.page.expect_file_chooser() as chooser:
        lee.page.get_by_test_id("image-button").click()
    payload: FilePayload = {
        "name": "garden.png",
        "mimeType": "image/png",
        "buffer": pictures.picture(300, 150, GREEN),
    }
    chooser.value.set_files(files=[payload])
    dana.expect_items(["image"])
    ((item, _, _),) = dana.placed()
    dana._wait("(s, d) => s.pictures.includes(d)", item["image"])
    dana.page.mouse.move(*dana.screen((1000, 650)))
    dana.page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    camera = dana.state()["camera"]
    x = round((item["x"] + item["w"] / 2 - camera["x"]) * camera["zoom"])
    y = round((item["y"] + item["h"] / 2 - camera["y"]) * camera["zoom"])
    shown = canvas_pixels(dana)[y, x]
    # Green as it is (#2f9e44), not its inverse (a dark violet): shown within a few levels.
    assert np.abs(shown - np.array([0x2F, 0x9E, 0x44])).max() <= 24, shown
