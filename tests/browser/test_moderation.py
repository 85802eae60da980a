"""Owners decide who is on their board, in the browser: remove and ban from the list of people, switch
guests off; the removed participant's page says why and draws no more. And join tokens that live seconds
are renewed in the background without the page ever leaving "live"."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import NewPerson, OpenBoard, Platform

pytestmark = pytest.mark.browser

TOKEN_TTL = 6
"""Seconds a join token lives here: a room closes an unrenewed connection a few seconds after that."""
START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(tmp_path_factory.mktemp("platform"))
    running.drawing.extra_env = {"DRAWNET_DRAWING_JOIN_TOKEN_TTL_SECONDS": str(TOKEN_TTL)}
    running.room.extra_env = {"DRAWNET_ROOM_TOKEN_GRACE_SECONDS": "1"}
    try:
        running.nats.start()
        running.drawing.start(timeout=START_TIMEOUT)
        running.room.start(timeout=START_TIMEOUT)
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


def owner_with_board(new_person: NewPerson) -> tuple[BoardPage, str]:
    olga = new_person("Olga", color="#6741d9")
    olga.sign_up(f"olga-{secrets.token_hex(4)}", "a long enough password")
    olga.start_board("Who is here")
    olga.expect_role("owner")
    return olga, str(olga.state()["session"])


def expect_removed(person: BoardPage, pattern: str) -> None:
    notice = person.page.get_by_test_id("removed-notice")
    notice.wait_for(state="visible")
    assert pattern in person.page.get_by_test_id("removed-reason").inner_text().lower()
    person.expect_connection("offline")
    assert person.page.get_by_test_id("reconnect").is_hidden()


def test_a_kicked_guest_sees_why_and_cannot_draw(new_person: NewPerson, open_board: OpenBoard) -> None:
    olga, session = owner_with_board(new_person)
    gus = open_board(session, "Gus", color="#2f9e44")
    gus.draw_stroke([(300, 300), (420, 360)])
    olga.expect_strokes(1)
    olga.expect_participants("Gus", "Olga")

    olga.participant("Gus").get_by_test_id("kick").click()
    expect_removed(gus, "removed you")
    olga.expect_participants("Olga")
    gus.draw_stroke([(300, 420), (420, 480)])
    assert gus.state()["pending"] == 0
    assert gus.state()["strokes"] == 1
    olga.draw_stroke([(200, 200), (260, 260)])
    olga.expect_strokes(2)


def test_a_banned_guest_stays_out_and_switching_guests_off_removes_the_others(
    new_person: NewPerson, open_board: OpenBoard
) -> None:
    olga, session = owner_with_board(new_person)
    mallory = open_board(session, "Mallory", color="#e03131")
    gus = open_board(session, "Gus", color="#2f9e44")
    olga.expect_participants("Gus", "Mallory", "Olga")
    assert olga.participant("Olga").get_by_test_id("ban").count() == 0  # nobody removes the owner

    olga.participant("Mallory").get_by_test_id("ban").click()
    expect_removed(mallory, "banned")
    mallory.reload(live=False)
    mallory.expect_connection("offline")
    mallory.expect_offline_reason("banned")

    toggle = olga.page.get_by_test_id("guest-access-toggle")
    assert toggle.is_checked()
    toggle.uncheck()
    expect_removed(gus, "guest")
    olga.expect_participants("Olga")


def test_short_lived_tokens_are_renewed_without_a_visible_reconnect(open_board: OpenBoard) -> None:
    ann = open_board("renewals", "Ann")
    ann.page.evaluate(
        """() => {
            window.__states = [];
            const box = document.querySelector('[data-testid=connection-status]');
            new MutationObserver(() => window.__states.push(box.dataset.state))
              .observe(box, {attributes: true, attributeFilter: ['data-state']});
        }"""
    )
    key = "drawnet.token.default.renewals"
    first = ann.page.evaluate(f"() => JSON.parse(sessionStorage.getItem('{key}')).expires_at")
    # Two renewals later, the first token is long past its end (and the room's grace after it).
    ann.page.wait_for_function(
        f"(first) => JSON.parse(sessionStorage.getItem('{key}')).expires_at >= first + {2 * TOKEN_TTL - 2}",
        arg=first,
        timeout=4 * TOKEN_TTL * 1000,
    )
    ann.page.wait_for_function(
        "(first) => Date.now() / 1000 > first + 2", arg=first, timeout=TOKEN_TTL * 1000
    )
    ann.draw_stroke([(300, 300), (400, 380)])
    ann.expect_settled()
    assert ann.state()["connection"] == "live"
    assert ann.page.evaluate("() => window.__states") == []
