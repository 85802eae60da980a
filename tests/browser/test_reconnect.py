"""The room goes away mid-drawing and comes back: nothing acknowledged is lost, and strokes drawn while it
was away (kept in the outbox, across a page reload too) are sent once it is back, and applied once."""

from __future__ import annotations

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
