"""Board management for owners in the browser: the settings panel renames a board, changes who may open
it, makes, copies and revokes share links (a viewer who joined with a revoked link is out at once) and
deletes the board after its name is typed; the lobby's cards show each board drawn small."""

from __future__ import annotations

import re

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import NewPerson

pytestmark = pytest.mark.browser


def open_settings(owner: BoardPage) -> None:
    owner.page.get_by_test_id("settings").click()
    owner.page.get_by_test_id("settings-dialog").wait_for(state="visible")


def test_an_owner_renames_shares_revokes_and_deletes_a_board_from_its_settings(new_person: NewPerson) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - optional test dependency

    olga = new_person("Olga", color="#6741d9")
    olga.sign_up("olga-settings", "a long enough password")
    olga.start_board("Plans", visibility="private")
    olga.draw_stroke([(200, 200), (500, 380)])
    olga.expect_strokes(1)
    session = olga.state()["session"]

    # A view-only link, made and copied in the panel; Vic joins with it.
    olga.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_settings(olga)
    olga.page.get_by_test_id("settings-new-viewer").click()
    olga.expect_toast("View-only link copied")
    link = olga.page.evaluate("navigator.clipboard.readText()")
    row = olga.page.get_by_test_id("settings-link")
    expect(row).to_have_count(1)  # the list is drawn again once the API answered: wait for it
    expect(row).to_have_text(re.compile(r"^View only"))
    vic = new_person("Vic", color="#0c8599")
    vic.page.goto(link)
    vic.expect_connection("live")
    vic.expect_view_only()

    # Revoked: Vic is closed out at once, and the link says so.
    olga.page.get_by_test_id("settings-link-revoke").click()
    olga.expect_toast("Link revoked")
    vic.page.get_by_test_id("removed-notice").wait_for(state="visible")
    expect(olga.page.get_by_test_id("settings-link")).to_contain_text("revoked")

    # Renamed and made public: the title changes, and anyone with the board's address may open it.
    olga.page.get_by_test_id("settings-title").fill("Plans for spring")
    olga.page.get_by_test_id("settings-visibility").select_option("public")
    olga.page.get_by_test_id("settings-save").click()
    olga.expect_toast("Settings saved")
    olga.expect_title("Plans for spring")
    bob = new_person("Bob", color="#e03131")
    bob.open(session)
    bob.expect_strokes(1)

    # The lobby shows it drawn small.
    olga.go_to_lobby()
    thumb = olga.page.locator(f'[data-testid="recent-board"][data-session="{session}"] img')
    olga.page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(olga.page.locator(f'[data-session="{session}"]')).to_contain_text("Plans for spring")

    # Deleted, once its name is typed: back to the lobby, and everyone on it is out.
    olga.open(session)
    open_settings(olga)
    delete = olga.page.get_by_test_id("settings-delete")
    olga.page.get_by_test_id("settings-delete-confirm").fill("not-its-name")
    assert delete.is_disabled()
    olga.page.get_by_test_id("settings-delete-confirm").fill(session)
    delete.click()
    olga.page.get_by_test_id("lobby-session").wait_for()
    bob.page.get_by_test_id("removed-notice").wait_for(state="visible")
