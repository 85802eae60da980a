"""Whiteboard editing in the browser, for two people: each tool with real pointer events, checked on the
other person's page; shapes with Shift, text typed as an input method types it, notes, the selection
(click, marquee, move, resize, rotate, delete, duplicate, nudge, copy and paste, the stacking order), live
drag previews, and all of it surviving a reload."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import OpenBoard

pytestmark = pytest.mark.browser


def two_people(open_board: OpenBoard) -> tuple[BoardPage, BoardPage]:
    session = f"wb-{uuid.uuid4().hex[:8]}"
    ann = open_board(session, "Ann", color="#1971c2")
    bob = open_board(session, "Bob", color="#e03131")
    return ann, bob


@pytest.mark.parametrize(
    ("tool", "shape"),
    [("rect", "rect"), ("ellipse", "ellipse"), ("diamond", "diamond"), ("arrow", "arrow"), ("line", "line")],
)
def test_each_shape_tool_draws_its_shape_for_the_other_and_shift_constrains_it(
    open_board: OpenBoard, tool: str, shape: str
) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool(tool)
    ann.drag((300, 300), (460, 380))
    ann.drag((600, 300), (700, 340), shift=True)
    bob.expect_items(["shape", "shape"])
    free, constrained = (op for op, _, _ in bob.placed())
    assert free["shape"] == constrained["shape"] == shape
    assert (free["w"], free["h"]) == pytest.approx((160, 80), abs=1.5)
    if shape in {"line", "arrow"}:
        # Shift: a multiple of 45°.
        angle = math.degrees(math.atan2(constrained["h"], constrained["w"])) % 45
        assert min(angle, 45 - angle) == pytest.approx(0, abs=0.01)
        assert constrained["end_head"] is (shape == "arrow")
    else:
        assert abs(constrained["w"]) == pytest.approx(abs(constrained["h"]))  # a square box


def test_text_is_typed_like_an_input_method_and_edited_again(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("text")
    ann.click((300, 300))
    ann.type_text("Hello\nDrawnet, ça va")
    ann.finish_text()
    bob.expect_items(["text"])
    ((op, _, edited),) = bob.placed()
    assert (op["text"], edited) == ("Hello\nDrawnet, ça va", None)
    # Clicking the text with the text tool edits it: one `edit` op.
    ann.click((310, 310))
    ann.page.keyboard.press("Control+a")
    ann.type_text("Bonjour")
    ann.finish_text()
    bob._wait("(s) => s.placed[0][2] === 'Bonjour'")


def test_a_sticky_note_grows_with_its_text_for_the_other(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("note")
    ann.click((400, 250))
    ann.type_text("one\ntwo\nthree\nfour\nfive\nsix\nseven")
    ann.finish_text()
    bob.expect_items(["note"])
    ((note, _, _),) = bob.placed()
    assert note["text"].count("\n") == 6
    assert note["fill"] == "#ffec99"


def test_a_selection_moves_as_one_op_live_for_the_other_and_undo_takes_it_back(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("pen")
    ann.draw_stroke([(200, 200), (260, 240), (320, 200)])
    ann.pick_tool("rect")
    ann.drag((400, 200), (500, 260))
    bob.expect_items(["stroke", "shape"])
    # A marquee around both (strokes too), then a drag of the selection; Bob sees it move before it lands.
    ann.pick_tool("select")
    ann.drag((150, 150), (560, 300))
    assert len(ann.state()["selection"]) == 2
    ann.page.mouse.move(*ann.screen((450, 230)))
    ann.page.mouse.down()
    ann.page.mouse.move(*ann.screen((500, 330)), steps=8)
    bob._wait("(s) => s.dragging.length === 1 && s.dragging[0].items.length === 2")
    ann.page.mouse.up()
    bob._wait("(s) => s.placed.every(([, m]) => m && Math.abs(m[4] - 50) < 1 && Math.abs(m[5] - 100) < 1)")
    ann.expect_settled()
    ann._wait("(s, hash) => s.hash === hash", bob.state()["hash"])  # the same board on both pages
    ann.undo()
    bob._wait("(s) => s.placed.every(([, m]) => m && Math.abs(m[4]) < 1e-9 && Math.abs(m[5]) < 1e-9)")
    # Nudge with the arrow keys, then Escape deselects and Delete does nothing.
    ann.press("ArrowRight")
    bob._wait("(s) => s.placed.every(([, m]) => m && Math.abs(m[4] - 1) < 1e-9)")
    ann.press("Escape")
    assert ann.state()["selection"] == []
    ann.press("Delete")
    bob.expect_items(["stroke", "shape"])


def test_resize_with_shift_keeps_proportions_and_rotation_turns_the_shape(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("rect")
    ann.drag((400, 300), (500, 350))  # 100 by 50 (its frame: 104 by 54, outline and reach)
    bob.expect_items(["shape"])
    ann.pick_tool("select")
    ann.click((450, 325))
    frame = ann.page.evaluate("window.__drawnet.renderer.boundsOf(window.__drawnet.snapshot().selection[0])")
    corner = (frame["x"] + frame["w"], frame["y"] + frame["h"])  # board units; the zoom is 100 %
    camera = ann.state()["camera"]
    at = (corner[0] - camera["x"], corner[1] - camera["y"])
    ann.drag(at, (at[0] + 104, at[1] + 10), shift=True)
    bob._wait("(s) => s.placed[0][1] !== null")
    ann.expect_settled()
    m = bob.placed()[0][1]
    assert m[0] == pytest.approx(m[3])  # the same scale both ways
    assert m[0] == pytest.approx(2, abs=0.05)
    # The round handle above the frame turns it.
    frame = ann.page.evaluate("window.__drawnet.renderer.boundsOf(window.__drawnet.snapshot().selection[0])")
    top = (frame["x"] + frame["w"] / 2 - camera["x"], frame["y"] - 24 - camera["y"])
    centre = (frame["x"] + frame["w"] / 2 - camera["x"], frame["y"] + frame["h"] / 2 - camera["y"])
    ann.drag(top, (centre[0] + 200, centre[1]), shift=True)  # a quarter turn, clockwise
    bob._wait("(s) => Math.abs(s.placed[0][1][1]) > 0.9")


def test_copy_paste_at_the_pointer_duplicate_and_delete_for_the_other_and_after_a_reload(
    open_board: OpenBoard, tmp_path: Path
) -> None:
    ann, bob = two_people(open_board)
    ann.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ann.pick_tool("ellipse")
    ann.drag((300, 300), (380, 360))
    ann.pick_tool("select")
    ann.click((340, 330))
    ann.press("Control+c")
    clipboard = ann.page.evaluate("navigator.clipboard.readText()")
    assert '"drawnet":"items/1"' in clipboard
    # With the pointer over the board, the paste lands there: the middle of what was copied under it.
    ann.hover((700, 500))
    ann.press("Control+v")
    bob.expect_items(["shape", "shape"])
    camera = ann.state()["camera"]  # at 100 %: a canvas pixel is a board unit
    pasted = bob.placed()[1][0]
    assert (pasted["x"], pasted["y"]) == pytest.approx((660 + camera["x"], 470 + camera["y"]), abs=1)
    ann.press("Control+d")  # a duplicate: a little off what it duplicates
    bob.expect_items(["shape", "shape", "shape"])
    duplicated = bob.placed()[2][0]
    assert (duplicated["x"], duplicated["y"]) == pytest.approx((pasted["x"] + 16, pasted["y"] + 16))
    ids = {op["id"] for op, _, _ in bob.placed()}
    assert len(ids) == 3
    ann.press("Delete")
    bob.expect_items(["shape", "shape"])
    # With the pointer off the board (over the participants' panel), a little off the originals.
    ann.page.get_by_test_id("participant-list").hover()
    ann.press("Control+v")
    bob.expect_items(["shape", "shape", "shape"])
    again = bob.placed()[2][0]
    assert (again["x"], again["y"]) == pytest.approx((316 + camera["x"], 316 + camera["y"]), abs=1)
    bob.reload()
    bob.expect_items(["shape", "shape", "shape"])
    bob.screenshot(tmp_path / "after-reload.png")


def tint(color: str) -> tuple[int, int, int]:
    """tools/shape.js's `tint`: the fill of a shape drawn with the fill toggle on."""
    value = int(color[1:], 16)
    channels = ((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)
    red, green, blue = (math.floor(c + (255 - c) * 0.8 + 0.5) for c in channels)
    return red, green, blue


def test_the_stacking_order_changes_with_keys_and_buttons_for_the_other_and_undo_takes_it_back(
    open_board: OpenBoard, tmp_path: Path
) -> None:
    ann, bob = two_people(open_board)
    ann.press("f")  # filled shapes: where two overlap, the canvas shows the top one's fill
    ann.pick_tool("rect")
    ann.pick_color("e03131")
    ann.drag((300, 300), (420, 400))
    ann.pick_color("1971c2")
    ann.drag((360, 340), (480, 440))
    ann.pick_color("2f9e44")
    ann.drag((600, 300), (700, 400))
    bob.expect_items(["shape", "shape", "shape"])
    red, blue, green = (op["id"] for op, _, _ in bob.placed())
    overlap = (390, 370)
    bob.expect_pixel(overlap, tint("#1971c2"))

    ann.pick_tool("select")
    ann.click((310, 310))  # the red one, where nothing covers it
    assert ann.state()["selection"] == [red]
    ann.press("Control+Shift+BracketRight")  # bring to front
    bob.expect_order([blue, green, red])
    bob.expect_pixel(overlap, tint("#e03131"))
    ann.expect_pixel(overlap, tint("#e03131"))
    ann.press("Control+BracketLeft")  # one step backward: below the green one, still above the blue one
    bob.expect_order([blue, red, green])
    ann.press("Control+Shift+BracketLeft")  # send to back
    bob.expect_order([red, blue, green])
    bob.expect_pixel(overlap, tint("#1971c2"))
    ann.press("Control+BracketRight")  # one step forward: above the blue one
    bob.expect_order([blue, red, green])
    ann.page.get_by_test_id("order-front").click()  # the selection's buttons do the same
    bob.expect_order([blue, green, red])
    ann.screenshot(tmp_path / "stacking.png")

    ann.undo()
    bob.expect_order([blue, red, green])
    ann.redo()
    bob.expect_order([blue, green, red])
    ann.expect_settled()
    ann._wait("(s, hash) => s.hash === hash", bob.state()["hash"])
    # Nothing selected, nothing to reorder: the selection's bar goes away.
    ann.press("Escape")
    ann.page.get_by_test_id("context-bar").wait_for(state="hidden")
    # A reload builds the board from the room's snapshot: the same order.
    bob.reload()
    bob.expect_order([blue, green, red])
    bob.expect_pixel(overlap, tint("#e03131"))


def test_new_texts_and_notes_take_the_alignment_and_rectangles_the_corners_picked_in_the_bar(
    open_board: OpenBoard,
) -> None:
    ann, bob = two_people(open_board)
    bar = ann.page.get_by_test_id("context-bar")
    ann.pick_tool("text")
    bar.wait_for()
    ann.page.get_by_test_id("corners-round").wait_for(state="hidden")  # the corners are the rectangles'
    ann.page.get_by_test_id("align-center").click()
    ann.click((400, 300))
    ann.type_text("centred\nlines")
    ann.page.get_by_test_id("align-right").click()  # while typing: the editor keeps the focus
    ann.type_text(" and more")
    ann.finish_text()
    bob.expect_items(["text"])
    ((text, _, _),) = bob.placed()
    camera = ann.state()["camera"]  # at 100 %: a canvas pixel is a board unit
    # Where it was clicked is the lines' right end now: the text is drawn where it was typed.
    assert (text["align"], text["text"], text["x"]) == ("right", "centred\nlines and more", 400 + camera["x"])
    ann.pick_tool("note")
    ann.click((600, 200))
    ann.type_text("right")
    ann.finish_text()
    bob.expect_items(["text", "note"])
    assert bob.placed()[1][0]["align"] == "right"

    ann.pick_tool("rect")
    ann.page.get_by_test_id("align-left").wait_for(state="hidden")
    ann.page.get_by_test_id("corners-sharp").click()
    ann.drag((300, 450), (400, 520))
    ann.page.get_by_test_id("corners-round").click()
    ann.drag((450, 450), (550, 520))
    bob.expect_items(["text", "note", "shape", "shape"])
    assert [op["rounded"] for op, _, _ in bob.placed()[2:]] == [False, True]
    # The choices are remembered by this browser.
    ann.page.get_by_test_id("corners-sharp").click()
    ann.reload()
    ann.pick_tool("rect")
    ann.page.locator('[data-testid="corners-sharp"][aria-checked="true"]').wait_for()
    ann.pick_tool("text")
    ann.page.locator('[data-testid="align-right"][aria-checked="true"]').wait_for()
    ann.pick_tool("pen")
    bar.wait_for(state="hidden")


def test_the_other_sees_a_shape_grow_while_it_is_drawn_and_the_commit_replaces_it(
    open_board: OpenBoard,
) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("ellipse")
    ann.page.mouse.move(*ann.screen((300, 300)))
    ann.page.mouse.down()
    ann.page.mouse.move(*ann.screen((360, 340)), steps=4)
    bob._wait("(s) => s.sketches.length === 1 && s.sketches[0].shape === 'ellipse' && s.sketches[0].w > 50")
    ann.page.mouse.move(*ann.screen((460, 400)), steps=4)
    bob._wait("(s) => s.sketches.length === 1 && s.sketches[0].w > 150 && s.sketches[0].h > 90")
    assert bob.state()["strokes"] == 0  # only a preview: nothing on the board yet
    ann.page.mouse.up()
    bob.expect_items(["shape"])
    bob._wait("(s) => s.sketches.length === 0")
    ((shape, _, _),) = bob.placed()
    assert (shape["w"], shape["h"]) == pytest.approx((160, 100), abs=1.5)
    # A slip (a shape too small to keep) ends the preview without a shape.
    ann.pick_tool("rect")
    ann.page.mouse.move(*ann.screen((600, 300)))
    ann.page.mouse.down()
    ann.page.mouse.move(*ann.screen((640, 330)), steps=3)
    bob._wait("(s) => s.sketches.length === 1")
    ann.page.mouse.move(*ann.screen((601, 301)), steps=3)
    ann.page.mouse.up()
    bob._wait("(s) => s.sketches.length === 0")
    ann.expect_settled()
    assert bob.state()["kinds"] == ["shape"]
