"""The room goes away mid-drawing and comes back: nothing acknowledged is lost, and strokes drawn while it
was away (kept in the outbox, across a page reload too) are sent once it is back, and applied once; shapes,
texts, notes, their transforms and their stacking order come back as they were."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import OpenBoard, Platform

pytestmark = pytest.mark.browser


def test_a_room_restart_loses_nothing_and_resends_what_was_not_sent(
    open_board: OpenBoard, platform: Platform
) -> None:
    ann = open_board("restart", "Ann", color="#e03131")
    bob = open_board("restart", "Bob", color="#1971c2")
    for row in range(3):
        ann.draw_stroke([(150, 150 + 50 * row), (450, 170 + 50 * row)])
    bob.expect_strokes(3)
    ann.expect_strokes(3)  # all three acknowledged to Ann too (Bob may see them before she does)
    acked = ann.state()["ids"]

    platform.stop_room()
    ann.expect_connection("offline")
    ann.draw_stroke([(150, 400), (450, 420)])  # drawn while the room is away: waits in the outbox
    bob.draw_stroke([(500, 150), (700, 300)])
    ann.expect_pending(1)
    bob.expect_pending(1)
    bob.reload(live=False)  # the outbox survives a reload too
    bob.expect_pending(1)
    platform.start_room()

    ann.expect_connection("live", timeout=40_000)
    bob.expect_connection("live", timeout=40_000)
    ann.expect_strokes(5, timeout=30_000)
    bob.expect_strokes(5, timeout=30_000)
    ann.expect_same_board_as(bob)
    ids = ann.state()["ids"]
    assert ids[:3] == acked
    assert len(set(ids)) == len(ids) == 5
    ann.expect_server_board(ids)


def test_a_room_restart_keeps_every_kind_their_transforms_and_their_stacking_order(
    open_board: OpenBoard, platform: Platform
) -> None:
    session = f"restart-kinds-{uuid.uuid4().hex[:8]}"
    ann = open_board(session, "Ann", color="#e03131")
    bob = open_board(session, "Bob", color="#1971c2")
    ann.press("f")  # filled shapes
    ann.pick_tool("rect")
    ann.drag((200, 200), (320, 300))
    ann.pick_tool("ellipse")
    ann.drag((260, 240), (400, 340))
    ann.pick_tool("pen")
    ann.draw_stroke([(180, 380), (300, 420), (420, 380)])
    ann.pick_tool("text")
    ann.click((500, 200))
    ann.type_text("restart\nme")
    ann.finish_text()
    ann.pick_tool("note")
    ann.click((520, 300))
    ann.type_text("still here")
    ann.finish_text()
    bob.expect_items(["shape", "shape", "stroke", "text", "note"])
    rect, ellipse, stroke, text, note = bob.state()["ids"]
    # Transforms: the rectangle dragged, the note nudged; the rectangle brought to the front.
    ann.pick_tool("select")
    ann.drag((210, 210), (250, 230))
    ann.press("Control+Shift+BracketRight")
    bob.expect_order([ellipse, stroke, text, note, rect])
    ann.click((530, 310))
    ann.press("ArrowDown")
    ann.press("Control+BracketLeft")  # the note one step back: below the text
    bob.expect_order([ellipse, stroke, note, text, rect])
    ann.expect_settled()
    bob.expect_same_board_as(ann)
    before = bob.state()
    # The drawing service has stored it all in a snapshot of its own, which the new room starts from.
    ann.page.wait_for_function(
        """async ([session, seq]) => {
            const response = await fetch(`/api/v1/sessions/${session}/snapshot`);
            return response.ok && Number(response.headers.get("X-Drawnet-Snapshot-Seq")) >= seq;
        }""",
        arg=[session, before["seq"]],
        timeout=30_000,
        polling=250,
    )

    platform.stop_room()
    ann.expect_connection("offline")
    bob.expect_connection("offline")
    ann.press("Control+Shift+BracketLeft")  # sent to the back while the room is away: kept in the outbox
    ann.expect_pending(1)
    platform.start_room()

    ann.expect_connection("live", timeout=40_000)
    bob.expect_connection("live", timeout=40_000)
    bob.expect_order([note, ellipse, stroke, text, rect], timeout=30_000)
    ann.expect_same_board_as(bob)
    after = bob.state()
    # Every item is where it was, with its transform and text: only the order changed, as asked.
    assert sorted(map(str, after["placed"])) == sorted(map(str, before["placed"]))
    ann.expect_server_board([note, ellipse, stroke, text, rect])
    bob.reload()
    bob.expect_order([note, ellipse, stroke, text, rect])
    bob.expect_same_board_as(ann)
