"""The board's history in the browser, for two people: the owner draws, a viewer opens the timeline,
steps back and forth, plays it and sees who drew what; the owner restores a past point as a copy."""

from __future__ import annotations

import re

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import NewPerson

pytestmark = pytest.mark.browser


def expect_label(person: BoardPage, pattern: str) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - optional test dependency

    expect(person.page.get_by_test_id("history-label")).to_have_text(re.compile(pattern))


def test_a_viewer_scrubs_plays_and_sees_who_drew_what_and_the_owner_restores_a_copy(
    new_person: NewPerson,
) -> None:
    olga = new_person("Olga", color="#6741d9")
    olga.sign_up("olga-history", "a long enough password")
    olga.start_board("Timeline", visibility="private")
    olga.draw_stroke([(200, 200), (400, 300)])
    olga.pick_tool("rect")
    olga.drag((500, 200), (650, 320))
    olga.pick_tool("pen")
    olga.draw_stroke([(200, 450), (420, 480)])
    olga.expect_items(["stroke", "shape", "stroke"])
    olga.expect_server_board(olga.state()["ids"])
    link = olga.copy_share_link("viewer")

    vic = new_person("Vic", color="#0c8599")
    vic.page.goto(link)
    vic.expect_connection("live")
    vic.expect_view_only()
    vic.page.get_by_test_id("history").click()
    expect_label(vic, r"^3 of 3 · stroke by Olga")
    vic.page.get_by_test_id("history-back").click()
    vic.page.get_by_test_id("history-back").click()
    expect_label(vic, r"^1 of 3 · stroke by Olga")

    # Who drew the first stroke, and when: hovering it on the past board.
    vic.page.get_by_test_id("history-canvas").hover(position={"x": 300, "y": 250})
    who = vic.page.get_by_test_id("history-who")
    who.wait_for(state="visible")
    assert re.match(r"^stroke drawn by Olga, \d", who.inner_text())
    # The rectangle is not on the board yet at this point: nothing under the pointer there.
    vic.page.get_by_test_id("history-canvas").hover(position={"x": 575, "y": 260})
    who.wait_for(state="hidden")

    vic.page.get_by_test_id("history-play").click()
    expect_label(vic, r"^3 of 3 · stroke by Olga")
    vic.page.get_by_test_id("history-slider").fill("0")
    expect_label(vic, r"^0 of 3 · the empty board")
    vic.page.get_by_test_id("history-restore").click()
    vic.expect_toast("No copy made: log in to keep a copy")
    vic.page.get_by_test_id("history-close").click()
    vic.page.get_by_test_id("history-bar").wait_for(state="hidden")
    vic.expect_strokes(3)  # the live board, as it was all along

    olga.page.get_by_test_id("history").click()
    expect_label(olga, r"^3 of 3")
    olga.page.get_by_test_id("history-slider").fill("2")
    expect_label(olga, r"^2 of 3 · shape by Olga")
    seq = olga.page.get_by_test_id("history-label").get_attribute("data-seq")
    olga.page.get_by_test_id("history-restore").click()
    olga.page.wait_for_function(
        "(previous) => window.__drawnet && window.__drawnet.snapshot().session !== previous",
        arg=olga.state()["session"],
    )
    olga.expect_connection("live")
    olga.expect_items(["stroke", "shape"])
    olga.expect_title(f"Timeline (at {seq})")
