"""The laser pointer in real Chromium: the other participant sees its trail while it moves, the trail fades,
and neither the board nor the op log changes."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import NewPerson, OpenBoard, Platform

pytestmark = pytest.mark.browser


def logged_ops(platform: Platform, session: str) -> list[str]:
    """The ids of every op the drawing service stored for the session, in log order."""
    response = httpx.get(f"{platform.url}/api/v1/sessions/{session}/ops", params={"after": 0}, timeout=10)
    response.raise_for_status()
    return [record["op"]["id"] for record in response.json()]


def test_the_other_sees_the_laser_trail_fade_and_the_board_and_log_stay_as_they_were(
    open_board: OpenBoard, platform: Platform
) -> None:
    ann = open_board("laser-pointer", "Ann", color="#e03131")
    bob = open_board("laser-pointer", "Bob")
    ann.expect_participants("Ann", "Bob")
    ann.draw_stroke([(200, 200), (300, 260)])
    bob.expect_strokes(1)
    before = bob.state()
    stroke_id = before["ids"][0]
    bob.page.wait_for_function(
        "async ([url, want]) => { const r = await fetch(url); if (!r.ok) return false;"
        " const b = await r.json(); return JSON.stringify(b.map((o) => o.op.id)) === JSON.stringify(want); }",
        arg=["/api/v1/sessions/laser-pointer/ops?after=0", [stroke_id]],
        polling=250,
    )

    ann.pick_tool("laser")
    ann.page.mouse.move(*ann.screen((150, 300)))
    ann.page.mouse.down()
    ann.page.mouse.move(*ann.screen((450, 350)), steps=12)
    bob.expect_laser_of("Ann")
    ann.page.mouse.move(*ann.screen((500, 200)), steps=8)
    ann.page.mouse.up()
    ann.expect_no_laser()
    bob.expect_no_laser()

    after = bob.state()
    assert (after["seq"], after["ids"], after["hash"]) == (before["seq"], before["ids"], before["hash"])
    assert ann.state()["ids"] == [stroke_id]
    # A stroke drawn after the laser is the log's next op: nothing of the trail was logged in between.
    ann.pick_tool("pen")
    ann.draw_stroke([(200, 400), (300, 460)])
    bob.expect_strokes(2)
    second = bob.state()["ids"][1]
    bob.page.wait_for_function(
        "async ([url, want]) => { const r = await fetch(url); if (!r.ok) return false;"
        " const b = await r.json(); return JSON.stringify(b.map((o) => o.op.id)) === JSON.stringify(want); }",
        arg=["/api/v1/sessions/laser-pointer/ops?after=0", [stroke_id, second]],
        polling=250,
    )
    assert logged_ops(platform, "laser-pointer") == [stroke_id, second]


def test_a_viewer_can_point_with_the_laser(new_person: NewPerson) -> None:
    olga = new_person("Olga", color="#6741d9")
    olga.sign_up("olga-laser", "a long enough password")
    olga.start_board("Talk", visibility="private")
    link = olga.copy_share_link("viewer")
    vic = new_person("Vic", color="#0c8599")
    vic.page.goto(link)
    vic.expect_connection("live")
    vic.expect_view_only()
    olga.expect_participants("Olga", "Vic")

    vic.pick_tool("laser")
    vic.page.mouse.move(*vic.screen((150, 300)))
    vic.page.mouse.down()
    vic.page.mouse.move(*vic.screen((450, 350)), steps=12)
    olga.expect_laser_of("Vic")
    vic.page.mouse.up()
    olga.expect_no_laser()
    assert olga.state()["strokes"] == 0
