"""Accounts and roles in the browser: someone signs up in the lobby, starts a private board with a title,
shares a view-only link; the viewer sees the board but cannot draw; a stranger without a link stays out."""

from __future__ import annotations

import pytest

from tests.browser.conftest import NewPerson, OpenBoard

pytestmark = pytest.mark.browser


def test_an_owner_shares_a_view_only_link_and_the_viewer_cannot_draw(
    new_person: NewPerson, open_board: OpenBoard
) -> None:
    olga = new_person("Olga", color="#6741d9")
    olga.sign_up("olga", "a long enough password")
    olga.start_board("Roadmap", visibility="private")
    olga.expect_role("owner")
    olga.expect_title("Roadmap")
    olga.draw_stroke([(200, 200), (400, 300)])
    olga.expect_strokes(1)
    session = olga.state()["session"]
    link = olga.copy_share_link("viewer")

    vic = new_person("Vic", color="#0c8599")
    vic.page.goto(link)
    vic.expect_connection("live")
    vic.expect_view_only()
    vic.expect_strokes(1)
    camera = vic.state()["camera"]
    vic.draw_stroke([(300, 400), (500, 450)])  # a drag only moves the board for a viewer

    assert vic.state()["camera"] != camera
    assert vic.state()["pending"] == 0
    olga.expect_participants("Olga", "Vic")
    olga.draw_stroke([(200, 400), (400, 500)])
    vic.expect_strokes(2)
    olga.expect_strokes(2)  # and nothing from Vic

    stranger = open_board(session, "Sam", live=False)
    stranger.expect_connection("offline")
    stranger.expect_offline_reason("private")


def test_the_lobby_lists_the_boards_you_opened(new_person: NewPerson) -> None:
    ann = new_person("Ann")
    ann.open("first-board")
    ann.open("second-board")
    ann.go_to_lobby()
    ann.expect_recent_boards("second-board", "first-board")
    ann.join_from_lobby("first-board")
    ann.expect_connection("live")
    assert ann.state()["session"] == "first-board"
