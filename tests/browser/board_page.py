"""BoardPage: the web app as a person uses it, so browser tests read like what people do.

It drives the real page with the mouse and keyboard and waits for conditions (Playwright's expect and
wait_for_function), never for fixed times. What it reads comes from the page's test hook
`window.__drawnet.snapshot()`: the board state the page shows (strokes, seq, connection), not pixels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from playwright.sync_api import Download, Locator, Page

Point = tuple[float, float]


class BoardPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    # ------------------------------------------------------------------------------------- arriving

    def as_person(self, name: str, color: str = "#1971c2") -> None:
        """Remember a name and colour as the lobby would, so the board does not ask."""
        prefs = {"name": name, "color": color, "penColor": color, "penWidth": 4}
        self.page.add_init_script(
            "if (!localStorage.getItem('drawnet.prefs'))"
            f" localStorage.setItem('drawnet.prefs', {json.dumps(json.dumps(prefs))});"
        )

    def open(self, session: str, *, link: str | None = None, live: bool = True) -> None:
        query = f"?link={link}" if link else ""
        self.page.goto(f"{self.base_url}/s/{session}{query}")
        if live:
            self.expect_connection("live")

    def reload(self) -> None:
        self.page.reload()
        self.expect_connection("live")

    # ------------------------------------------------------------------------------------- acting

    @property
    def canvas(self) -> Locator:
        return self.page.get_by_test_id("board-canvas")

    def _screen(self, point: Point) -> Point:
        box = self.canvas.bounding_box()
        assert box is not None
        return box["x"] + point[0], box["y"] + point[1]

    def draw_stroke(self, points: Sequence[Point], *, steps: int = 6) -> None:
        """Press the mouse at the first point (canvas pixels), move through the others, release."""
        first = self._screen(points[0])
        self.page.mouse.move(*first)
        self.page.mouse.down()
        for point in points[1:]:
            self.page.mouse.move(*self._screen(point), steps=steps)
        self.page.mouse.up()

    def hover(self, point: Point) -> None:
        self.page.mouse.move(*self._screen(point), steps=3)

    def pick_tool(self, tool: str) -> None:
        self.page.get_by_test_id(f"tool-{tool}").click()

    def erase_along(self, points: Sequence[Point]) -> None:
        self.pick_tool("eraser")
        self.draw_stroke(points)
        self.pick_tool("pen")

    def undo(self) -> None:
        self.canvas.focus()
        self.page.keyboard.press("Control+z")

    def redo(self) -> None:
        self.canvas.focus()
        self.page.keyboard.press("Control+Shift+z")

    def follow(self, name: str) -> None:
        self.participant(name).get_by_test_id("follow").click()

    def download(self, what: str) -> Download:
        """Export the board (`png`, `svg` or `json`) from the Export menu, as a downloaded file."""
        self.page.get_by_test_id("export").click()
        with self.page.expect_download() as download:
            self.page.get_by_test_id(f"export-{what}").click()
        return download.value

    def import_json(self, path: Path) -> None:
        self.page.get_by_test_id("export").click()
        with self.page.expect_file_chooser() as chooser:
            self.page.get_by_test_id("import-json").click()
        chooser.value.set_files(str(path))

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))

    # ------------------------------------------------------------------------------------- reading

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate("window.__drawnet.snapshot()")
        return state

    def participant(self, name: str) -> Locator:
        return self.page.get_by_test_id("participant").and_(self.page.locator(f'[data-name="{name}"]'))

    def _wait(self, condition: str, arg: Any = None, *, timeout: float = 15_000) -> None:
        """Wait until `condition` (a JS function of the snapshot and `arg`) holds."""
        snapshot = "window.__drawnet && window.__drawnet.snapshot()"
        self.page.wait_for_function(
            f"([arg]) => {{ const s = {snapshot}; return !!s && ({condition})(s, arg); }}",
            arg=[arg],
            timeout=timeout,
        )

    def expect_connection(self, state: str, *, timeout: float = 20_000) -> None:
        self._wait("(s, want) => s.connection === want", state, timeout=timeout)

    def expect_strokes(self, count: int, *, timeout: float = 15_000) -> None:
        """The board shows `count` committed strokes, and nothing of mine waits to be sent."""
        self._wait("(s, n) => s.strokes === n && s.pending === 0 && s.inflight === 0", count, timeout=timeout)

    def expect_same_board_as(self, other: BoardPage) -> None:
        want = other.state()
        self._wait(
            "(s, w) => s.hash === w.hash && s.strokes === w.strokes",
            {"hash": want["hash"], "strokes": want["strokes"]},
        )

    def expect_participants(self, *names: str) -> None:
        self._wait(
            "(s, want) => JSON.stringify(s.participants.map(p => p.name).sort()) === JSON.stringify(want)",
            sorted(names),
        )

    def expect_cursor_of(self, name: str) -> Locator:
        """Someone's cursor is on my screen with their name on it."""
        cursor = self.page.get_by_test_id("cursor").and_(self.page.locator(f'[data-name="{name}"]'))
        cursor.wait_for(state="visible")
        return cursor

    def expect_live_preview(self) -> None:
        """Someone's stroke is being drawn on my screen before it is committed."""
        self._wait("(s) => s.previews > 0")

    def expect_view_only(self) -> None:
        self._wait("(s) => s.role === 'viewer'")
        self.page.get_by_test_id("view-only-badge").wait_for(state="visible")

    def expect_can_undo(self, can: bool = True) -> None:
        self._wait("(s, want) => s.canUndo === want", can)

    def expect_toast(self, pattern: str) -> None:
        toast = self.page.get_by_test_id("toast")
        toast.wait_for(state="visible")
        self.page.wait_for_function(
            "([re]) => new RegExp(re).test(document.querySelector('[data-testid=toast]').textContent)",
            arg=[pattern],
        )
        assert re.search(pattern, toast.inner_text())
