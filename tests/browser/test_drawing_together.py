"""Two people draw on one board in real Chromium: each sees the other's strokes, live and committed,
and the other's cursor with their name; a late joiner sees the board; undo and redo follow each person."""

from __future__ import annotations

import pytest

from tests.browser.conftest import OpenBoard

pytestmark = pytest.mark.browser


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
