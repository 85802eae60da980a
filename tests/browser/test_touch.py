"""Phones and tablets in real Chromium (touch emulation, pens and fingers through CDP's Input domain):
the touch-first layout below 700 px, a finger drawing on a phone, a pen's pressure reaching the other
participant, palm rejection (a pen down ignores touches), and two fingers panning and pinching."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import OpenBoard
from tests.browser.test_drawing_together import draw_a_house

pytestmark = pytest.mark.browser

PHONE_SCREENSHOT = Path(__file__).parents[2] / "docs" / "screenshot-phone.png"


def strokes_of(person: BoardPage) -> list[dict[str, Any]]:
    """The committed strokes on this person's board: id and points ([x, y, pressure])."""
    found: list[dict[str, Any]] = person.page.evaluate(
        "window.__drawnet.board.strokes.filter((s) => s.kind === 'stroke')"
        ".map((s) => ({id: s.id, pts: s.pts}))"
    )
    return found


def test_a_phone_gets_the_touch_first_layout(open_board: OpenBoard) -> None:
    pat = open_board("phone-layout", "Pat", device="phone")
    ann = open_board("phone-layout", "Ann")
    pat.expect_participants("Ann", "Pat")

    # The tools in one row at the bottom of the screen, each a thumb's size.
    toolbar = pat.page.get_by_test_id("toolbar").bounding_box()
    assert toolbar is not None
    assert toolbar["y"] + toolbar["height"] <= 844
    assert toolbar["y"] > 844 - 80
    assert toolbar["height"] < 70  # one row
    for tool in ("pen", "eraser", "select", "laser"):
        box = pat.page.get_by_test_id(f"tool-{tool}").bounding_box()
        assert box is not None
        assert box["width"] >= 44
        assert box["height"] >= 44
    # The people fold away behind "2 here"; a tap opens them.
    people = pat.page.get_by_test_id("participant-list")
    toggle = pat.page.get_by_test_id("panel-toggle")
    assert not people.is_visible()
    assert toggle.inner_text() == "2 here"
    toggle.tap()
    people.wait_for(state="visible")
    assert toggle.get_attribute("aria-expanded") == "true"
    # A desktop keeps the open panel and has no fold button.
    assert ann.page.get_by_test_id("participant-list").is_visible()
    assert not ann.page.get_by_test_id("panel-toggle").is_visible()


def test_a_finger_draws_on_a_phone_and_the_other_sees_the_stroke(open_board: OpenBoard) -> None:
    pat = open_board("phone-finger", "Pat", device="phone")
    ann = open_board("phone-finger", "Ann")
    pat.expect_participants("Ann", "Pat")

    pat.swipe([(80, 300), (200, 380), (300, 320)])

    ann.expect_strokes(1)
    pat.expect_strokes(1)
    (stroke,) = strokes_of(ann)
    assert stroke == strokes_of(pat)[0]
    assert len(stroke["pts"]) > 5
    assert {p[2] for p in stroke["pts"]} == {0.5}  # fingers report no pressure


def test_a_pens_pressure_reaches_the_other_participant(open_board: OpenBoard) -> None:
    tia = open_board("tablet-pen", "Tia", device="tablet")
    ann = open_board("tablet-pen", "Ann")
    tia.expect_participants("Ann", "Tia")

    pressures = [0.1 + 0.8 * i / 20 for i in range(21)]
    tia.pen_stroke([(100 + 20 * i, 400 + 5 * i, p) for i, p in enumerate(pressures)])

    ann.expect_strokes(1)
    tia.expect_strokes(1)
    (stroke,) = strokes_of(ann)
    assert stroke == strokes_of(tia)[0]
    got = [p[2] for p in stroke["pts"]]
    assert got[0] == pytest.approx(0.1, abs=0.01)
    assert max(got) > 0.8
    assert got == sorted(got)  # the pen pressed harder and harder, and the other sees it so


def test_a_pen_down_ignores_the_palm_and_touches(open_board: OpenBoard) -> None:
    tia = open_board("tablet-palm", "Tia", device="tablet")
    ann = open_board("tablet-palm", "Ann")
    tia.expect_participants("Ann", "Tia")
    camera = tia.state()["camera"]

    # The palm lands first (it starts a stroke with the pen tool), then the pen: the palm's stroke goes.
    tia.touch("touchStart", [(600, 700)])
    tia.touch("touchMove", [(610, 705)])
    tia.touch("touchMove", [(620, 712)])
    tia.pen("mousePressed", (100, 300), 0.5)
    # While the pen is down, the palm moves and a finger taps: nothing of it draws or moves the board.
    for i in range(1, 11):
        tia.touch("touchMove", [(620 + 10 * i, 712 + 6 * i)])
        tia.pen("mouseMoved", (100 + 30 * i, 300 + 10 * i), 0.5)
    tia.touch("touchStart", [(650, 760), (300, 900)])
    tia.touch("touchMove", [(660, 770), (320, 950)])
    tia.touch("touchEnd", [])
    tia.pen("mouseReleased", (400, 400))

    ann.expect_strokes(1)
    tia.expect_strokes(1)
    (stroke,) = strokes_of(ann)
    xs = [p[0] for p in stroke["pts"]]
    ys = [p[1] for p in stroke["pts"]]
    state = tia.state()
    left, top = camera["x"], camera["y"]
    assert min(xs) >= left + 95
    assert max(xs) <= left + 405
    assert max(ys) <= top + 405  # nothing where the palm was (y 700 and below)
    assert state["palmsRejected"] >= 2
    assert state["camera"] == camera

    # Once a pen has been used, one finger moves the board instead of drawing.
    tia.swipe([(400, 800), (300, 700)])
    tia._wait("(s, c) => s.camera.x !== c.x || s.camera.y !== c.y", camera)
    assert tia.state()["strokes"] == 1
    ann.expect_strokes(1)


def test_two_fingers_pan_and_pinch_zoom(open_board: OpenBoard) -> None:
    pat = open_board("phone-pinch", "Pat", device="phone")
    ann = open_board("phone-pinch", "Ann")
    pat.expect_participants("Ann", "Pat")
    before = pat.state()["camera"]
    assert before["zoom"] == 1

    # Spread two fingers from 100 px apart to 200 px around (195, 400): twice the zoom, that point fixed.
    pat.touch("touchStart", [(145, 400)])
    pat.touch("touchStart", [(145, 400), (245, 400)])
    for i in range(1, 11):
        pat.touch("touchMove", [(145 - 5 * i, 400), (245 + 5 * i, 400)])
    pat.touch("touchEnd", [])
    pat._wait("(s) => Math.abs(s.camera.zoom - 2) < 0.01")
    zoomed = pat.state()["camera"]
    board_x = before["x"] + 195 / before["zoom"]
    assert zoomed["x"] + 195 / zoomed["zoom"] == pytest.approx(board_x, abs=0.5)

    # Both fingers move together: the board pans by as much (at zoom 2, half as many board units).
    pat.touch("touchStart", [(100, 300)])
    pat.touch("touchStart", [(100, 300), (200, 300)])
    for i in range(1, 11):
        pat.touch("touchMove", [(100 + 6 * i, 300 + 4 * i), (200 + 6 * i, 300 + 4 * i)])
    pat.touch("touchEnd", [])
    pat._wait(
        "(s, c) => Math.abs(s.camera.x - (c.x - 30)) < 0.5 && Math.abs(s.camera.y - (c.y - 20)) < 0.5",
        zoomed,
    )
    assert math.isclose(pat.state()["camera"]["zoom"], zoomed["zoom"])
    assert pat.state()["strokes"] == 0, strokes_of(pat)
    assert ann.state()["strokes"] == 0
    assert ann.state()["previews"] == 0


def test_a_screenshot_on_a_phone(open_board: OpenBoard, tmp_path: Path) -> None:
    """docs/screenshot-phone.png comes from here (DRAWNET_UPDATE_SCREENSHOT=1 writes it; else a temp
    file): the board of the desktop screenshot on a phone, with a stroke drawn there by finger."""
    ann = open_board("phone-sketch", "Ann", color="#e03131")
    bob = open_board("phone-sketch", "Bob", color="#1971c2")
    draw_a_house(ann, bob)
    ann.expect_strokes(9)
    pat = open_board("phone-sketch", "Pat", color="#2f9e44", device="phone")
    pat.expect_strokes(9)
    pat.page.get_by_test_id("zoom-fit").tap()
    pat.pick_tool("highlighter")
    pat.page.get_by_test_id("swatch-f08c00").tap()
    pat.swipe([(90, 560), (150, 600), (230, 585), (300, 610)])
    ann.expect_strokes(10)
    pat.pick_tool("pen")
    ann.hover((760, 300))
    pat.expect_cursor_of("Ann")
    pat.page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    target = (
        PHONE_SCREENSHOT if os.environ.get("DRAWNET_UPDATE_SCREENSHOT") == "1" else tmp_path / "phone.png"
    )
    pat.screenshot(target)
    assert target.stat().st_size > 10_000
