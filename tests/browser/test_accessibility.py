"""Accessibility in real Chromium: axe-core (node_modules, pinned in package.json) finds no serious or
critical violation on the lobby and on a board, light and dark, desktop and phone; every control is
reached and worked from the keyboard with a visible focus; joins, leaves and connection changes are said
in a polite live region."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.board_page import BoardPage
from tests.browser.conftest import NewPerson, OpenBoard, Platform
from tests.conftest import missing_dependency

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_violations(person: BoardPage) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, each {id, impact, help, targets}."""
    found: list[dict[str, Any]] = person.page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return found


def serious(person: BoardPage) -> list[dict[str, Any]]:
    return [v for v in axe_violations(person) if v["impact"] in SERIOUS]


@pytest.fixture
def with_axe() -> Any:
    if not AXE.is_file():
        missing_dependency(f"no axe-core at {AXE} (tools/bootstrap.sh --test installs package.json's)")

    def add(person: BoardPage) -> BoardPage:
        person.page.add_init_script(path=str(AXE))
        return person

    return add


@pytest.mark.parametrize("device", ["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_the_lobby_and_a_board(
    new_person: NewPerson, with_axe: Any, device: str, scheme: str
) -> None:
    ann = with_axe(new_person("Ann", device=device, color_scheme=scheme))
    ann.go_to_lobby()
    assert serious(ann) == []

    ann.open(f"axe-{device}-{scheme}")
    bob = new_person("Bob")
    bob.open(f"axe-{device}-{scheme}")
    bob.draw_stroke([(200, 300), (400, 350)])
    ann.expect_strokes(1)
    ann.expect_participants("Ann", "Bob")
    assert serious(ann) == []
    if device == "desktop":
        ann.page.get_by_test_id("export").click()
        ann.page.get_by_test_id("export-png").wait_for()
    else:
        ann.page.get_by_test_id("panel-toggle").click()
        ann.page.get_by_test_id("participant-list").wait_for()
    assert serious(ann) == []


def focused(person: BoardPage) -> dict[str, Any]:
    """The focused element: its test id or label, and whether its focus ring shows."""
    found: dict[str, Any] = person.page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {
                id: el.dataset.testid || el.getAttribute("aria-label") || el.tagName.toLowerCase(),
                ring: el.matches(":focus-visible") && style.outlineStyle !== "none"
                    && parseFloat(style.outlineWidth) >= 2,
                visible: box.width > 0 && box.height > 0,
            };
        }"""
    )
    return found


def test_every_control_is_reached_and_worked_from_the_keyboard_with_a_visible_focus(
    open_board: OpenBoard,
) -> None:
    ann = open_board("keyboard", "Ann")
    ann.page.locator("body").focus()
    seen: list[str] = []
    for _ in range(60):
        ann.page.keyboard.press("Tab")
        now = focused(ann)
        if now["id"] == "body":  # past the last control: the focus leaves the page
            break
        assert now["ring"], now
        assert now["visible"], now
        if now["id"] in seen:
            break
        seen.append(now["id"])
    for control in (
        "tool-select", "tool-pen", "tool-rect", "tool-laser", "tool-hand", "swatch-e03131", "pen-width",
        "fill-toggle", "theme-toggle", "share", "export", "zoom-in", "zoom-fit", "board-canvas",
    ):  # fmt: skip
        assert control in seen, (control, seen)

    # Enter and Space press tools and buttons.
    ann.page.get_by_test_id("tool-rect").focus()
    ann.page.keyboard.press("Enter")
    ann._wait("(s) => s.tool === 'rect'")
    ann.page.get_by_test_id("tool-laser").focus()
    ann.page.keyboard.press(" ")
    ann._wait("(s) => s.tool === 'laser'")
    ann.page.get_by_test_id("zoom-in").focus()
    ann.page.keyboard.press("Enter")
    ann._wait("(s) => Math.abs(s.camera.zoom - 1.25) < 1e-9")

    # A menu opens from the keyboard onto its first item; arrows move, Escape goes back to its button.
    ann.page.get_by_test_id("export").focus()
    ann.page.keyboard.press("Enter")
    assert focused(ann)["id"] == "export-png"
    ann.page.keyboard.press("ArrowDown")
    assert focused(ann)["id"] == "export-svg"
    ann.page.keyboard.press("End")
    assert focused(ann)["id"] == "import-json"
    ann.page.keyboard.press("ArrowDown")
    assert focused(ann)["id"] == "export-png"
    ann.page.keyboard.press("Escape")
    assert focused(ann)["id"] == "export"
    assert not ann.page.get_by_test_id("export-png").is_visible()
    assert ann.page.get_by_test_id("export").get_attribute("aria-expanded") == "false"


def test_joins_leaves_and_the_connection_are_announced_politely(
    open_board: OpenBoard, platform: Platform
) -> None:
    ann = open_board("announce", "Ann")
    region = ann.page.get_by_test_id("announcer")
    assert region.get_attribute("aria-live") == "polite"
    ann._wait("(s) => s.announced.includes('Connected: live')")

    bob = open_board("announce", "Bob")
    ann._wait("(s) => s.announced.includes('Bob joined')")
    bob.page.close()
    ann._wait("(s) => s.announced.includes('Bob left')")
    assert "Bob left" in region.inner_text()

    platform.stop_room()
    try:
        ann._wait("(s) => s.announced.some((m) => m.startsWith('Offline'))", timeout=20_000)
    finally:
        platform.start_room()
    ann.expect_connection("live", timeout=30_000)
    ann._wait("(s) => s.announced.filter((m) => m === 'Connected: live').length === 2")
    said = ann.state()["announced"]
    assert said.index("Bob left") < next(i for i, m in enumerate(said) if m.startswith("Offline"))
