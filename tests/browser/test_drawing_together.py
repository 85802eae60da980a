"""People drawing on one board in real Chromium: each sees the others' strokes (live while drawn, then
committed) and cursors with names, a late joiner sees the board, undo and redo follow each person, the
eraser removes whole strokes, and following someone shows what they see."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import OpenBoard, Platform

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).parents[2] / "docs" / "screenshot.png"


def board_on_server(platform: Platform, session: str) -> list[str]:
    """The stroke ids the drawing service stored, in order (what exports and late rooms see)."""
    response = httpx.get(f"{platform.url}/api/v1/sessions/{session}/board", timeout=10)
    response.raise_for_status()
    return [stroke["id"] for stroke in response.json()["strokes"]]


def test_two_participants_see_each_others_strokes_and_cursors(open_board: OpenBoard) -> None:
    ann = open_board("sketch-together", "Ann", color="#e03131")
    bob = open_board("sketch-together", "Bob", color="#1971c2")
    ann.expect_participants("Ann", "Bob")
    bob.expect_participants("Ann", "Bob")

    ann.draw_stroke([(200, 200), (300, 260), (400, 220)])
    bob.draw_stroke([(220, 420), (320, 380), (420, 440)])

    ann.expect_strokes(2)
    bob.expect_strokes(2)
    ann.expect_same_board_as(bob)
    ann.hover((500, 300))
    bob.expect_cursor_of("Ann")
    bob.hover((600, 350))
    ann.expect_cursor_of("Bob")


def test_a_stroke_shows_on_the_other_screen_while_it_is_drawn(open_board: OpenBoard) -> None:
    ann = open_board("live-preview", "Ann")
    bob = open_board("live-preview", "Bob")
    ann.expect_participants("Ann", "Bob")

    ann.page.mouse.move(*ann.screen((150, 150)))
    ann.page.mouse.down()
    ann.page.mouse.move(*ann.screen((300, 200)), steps=8)
    bob.expect_live_preview()
    ann.page.mouse.up()

    bob.expect_strokes(1)


def test_a_late_joiner_sees_the_board(open_board: OpenBoard, platform: Platform) -> None:
    ann = open_board("late-joiner", "Ann")
    for row in range(4):
        ann.draw_stroke([(100, 100 + 60 * row), (400, 120 + 60 * row)])
    ann.expect_strokes(4)

    cleo = open_board("late-joiner", "Cleo")

    cleo.expect_strokes(4)
    cleo.expect_same_board_as(ann)
    assert cleo.state()["ids"] == board_on_server(platform, "late-joiner")


def test_undo_and_redo_follow_each_person(open_board: OpenBoard) -> None:
    ann = open_board("undo-redo", "Ann", color="#e03131")
    bob = open_board("undo-redo", "Bob", color="#1971c2")
    ann.draw_stroke([(100, 100), (300, 150)])
    ann.expect_strokes(1)
    bob.draw_stroke([(100, 300), (300, 350)])
    bob.expect_strokes(2)
    ann_stroke, bob_stroke = bob.state()["ids"]

    ann.undo()  # Ann's own stroke goes, though Bob drew after her

    bob.expect_strokes(1)
    assert bob.state()["ids"] == [bob_stroke]
    ann.expect_can_undo(can=False)

    bob.undo()
    ann.expect_strokes(0)

    ann.redo()
    bob.expect_strokes(1)
    assert bob.state()["ids"] == [ann_stroke]
    bob.redo()
    ann.expect_strokes(2)
    ann.expect_same_board_as(bob)
    assert ann.state()["ids"] == [ann_stroke, bob_stroke]  # each back in its place


def test_an_undo_right_after_a_stroke_undoes_that_stroke(open_board: OpenBoard) -> None:
    ann = open_board("quick-undo", "Ann")
    ann.draw_stroke([(100, 100), (300, 150)])
    ann.expect_strokes(1)
    first = ann.state()["ids"]

    ann.draw_stroke([(100, 300), (300, 350)])
    ann.undo()  # at once: the undo waits for the stroke to be committed, then undoes it
    ann.undo()
    ann.redo()

    ann.expect_strokes(1)
    assert ann.state()["ids"] == first
    ann.expect_can_undo()


def test_the_eraser_removes_whole_strokes_for_everyone(open_board: OpenBoard) -> None:
    ann = open_board("eraser", "Ann")
    bob = open_board("eraser", "Bob")
    ann.draw_stroke([(100, 200), (500, 200)])
    ann.draw_stroke([(100, 400), (500, 400)])
    bob.expect_strokes(2)
    kept = bob.state()["ids"][1]

    ann.erase_along([(300, 180), (300, 230)])  # across the first stroke only (clear of the toolbar)

    bob.expect_strokes(1)
    assert bob.state()["ids"] == [kept]
    ann.undo()  # the erase is undone: the stroke comes back
    bob.expect_strokes(2)


def test_following_someone_shows_their_viewport(open_board: OpenBoard) -> None:
    ann = open_board("follow", "Ann")
    bob = open_board("follow", "Bob")
    bob.expect_participants("Ann", "Bob")

    bob.follow("Ann")
    ann.zoom_in()
    ann.pan_by(-200, -120)

    want = ann.state()["camera"]
    bob.expect_camera_near(want)
    assert bob.state()["following"] == ann.state()["me"]["id"]


def test_a_screenshot_of_two_people_drawing(open_board: OpenBoard, tmp_path: Path) -> None:
    """docs/screenshot.png comes from here (DRAWNET_UPDATE_SCREENSHOT=1 writes it; else a temp file)."""
    ann = open_board("team-sketch", "Ann", color="#e03131")
    bob = open_board("team-sketch", "Bob", color="#1971c2")
    draw_a_house(ann, bob)
    ann.expect_strokes(9)
    # A label, a note with an arrow to the roof, and Ann's selection of the door with its handles.
    ann.pick_color("1e1e1e")
    ann.pick_tool("text")
    ann.click((300, 560))
    ann.type_text("Our house")
    ann.finish_text()
    bob.pick_tool("note")
    bob.click((720, 400))
    bob.type_text("Paint the roof\nred?")
    bob.finish_text()
    bob.pick_color("1971c2")
    bob.pick_tool("arrow")
    bob.drag((715, 420), (560, 300))
    ann.expect_strokes(12)
    ann.pick_tool("select")
    ann.drag((415, 415), (505, 530))
    bob.hover((760, 300))
    ann.expect_cursor_at("Bob", (760, 300))
    ann.page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    target = SCREENSHOT if os.environ.get("DRAWNET_UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    ann.screenshot(target)
    assert target.stat().st_size > 10_000


def draw_a_house(ann: BoardPage, bob: BoardPage) -> None:
    ann.pick_color("1e1e1e")
    ann.pick_tool("line")
    for start, end in (((300, 520), (620, 520)), ((300, 520), (300, 330)), ((620, 520), (620, 330))):
        ann.draw_stroke([start, end])
    ann.pick_tool("pen")
    ann.pick_color("e03131")
    ann.draw_stroke([(280, 345), (380, 275), (460, 215), (540, 275), (640, 345)], steps=10)
    ann.draw_stroke([(430, 520), (430, 430), (490, 430), (490, 520)], steps=8)
    bob.pick_color("1971c2")
    bob.draw_stroke([(700, 210), (730, 180), (770, 175), (800, 195), (830, 185), (860, 210)], steps=10)
    bob.pick_color("f08c00")
    bob.draw_stroke([(150, 250), (180, 220), (210, 250), (180, 280), (150, 250)], steps=8)
    bob.pick_tool("highlighter")
    bob.pick_color("2f9e44")
    bob.draw_stroke([(120, 560), (400, 548), (700, 556), (960, 546)], steps=12)
    bob.pick_tool("pen")
    bob.draw_stroke([(330, 380), (380, 380), (380, 430), (330, 430), (330, 380)], steps=6)
