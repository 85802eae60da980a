"""BoardPage: the web app as a person uses it, so browser tests read like what people do.

It drives the real page with the mouse and keyboard and waits for conditions (Playwright's expect and
wait_for_function), never for fixed times. What it reads comes from the page's test hook
`window.__drawnet.snapshot()`: the board state the page shows (strokes, seq, connection), not pixels.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from playwright.sync_api import CDPSession, Download, Locator, Page

Point = tuple[float, float]


class BoardPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self._cdp: CDPSession | None = None

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

    def go_to_lobby(self) -> None:
        self.page.goto(f"{self.base_url}/")
        self.page.get_by_test_id("lobby-session").wait_for()

    def sign_up(self, username: str, password: str) -> None:
        """Create an account in the lobby (and be signed in with it)."""
        self.go_to_lobby()
        self.page.get_by_test_id("show-register").click()
        self.page.get_by_test_id("auth-username").fill(username)
        self.page.get_by_test_id("auth-password").fill(password)
        self.page.get_by_test_id("auth-submit").click()
        self.page.get_by_test_id("account-name").wait_for(state="visible")

    def start_board(self, title: str, *, visibility: str = "public") -> None:
        """Start a new board from the lobby, and wait until it is live."""
        self.page.get_by_test_id("create-title").fill(title)
        self.page.get_by_test_id("create-visibility").select_option(visibility)
        self.page.get_by_test_id("lobby-new").click()
        self.page.wait_for_url("**/s/**")
        self.expect_connection("live")

    def start_board_as_guest(self) -> None:
        """A guest's "New board": an open board with a fresh name, live."""
        self.page.get_by_test_id("lobby-new").click()
        self.page.wait_for_url("**/s/**")
        self.expect_connection("live")

    def join_from_lobby(self, text: str) -> None:
        """Type a board's name or link into the lobby and join it."""
        self.page.get_by_test_id("lobby-session").fill(text)
        self.page.get_by_test_id("lobby-join").click()
        self.page.wait_for_url("**/s/**")

    def copy_share_link(self, role: str) -> str:
        """Mint an invite link from the Share menu (owners), as copied to the clipboard."""
        self.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page.get_by_test_id("share").click()
        self.page.get_by_test_id(f"link-{role}").click()
        self.expect_toast("copied")
        link: str = self.page.evaluate("navigator.clipboard.readText()")
        return link

    def reload(self, *, live: bool = True) -> None:
        self.page.reload()
        self.page.wait_for_function("() => !!window.__drawnet")
        if live:
            self.expect_connection("live")

    # ------------------------------------------------------------------------------------- acting

    @property
    def canvas(self) -> Locator:
        return self.page.get_by_test_id("board-canvas")

    def screen(self, point: Point) -> Point:
        """Page coordinates of a point given in canvas pixels."""
        box = self.canvas.bounding_box()
        assert box is not None
        return box["x"] + point[0], box["y"] + point[1]

    def draw_stroke(self, points: Sequence[Point], *, steps: int = 6) -> None:
        """Press the mouse at the first point (canvas pixels), move through the others, release."""
        first = self.screen(points[0])
        self.page.mouse.move(*first)
        self.page.mouse.down()
        for point in points[1:]:
            self.page.mouse.move(*self.screen(point), steps=steps)
        self.page.mouse.up()

    # ------------------------------------------------------------------ touch and pen (Chromium's CDP)

    def _input(self, method: str, params: dict[str, Any]) -> None:
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        self._cdp.send(method, params)

    def touch(self, kind: str, fingers: Sequence[Point]) -> None:
        """A touch event (`touchStart`, `touchMove`, `touchEnd`) with these fingers down (canvas pixels),
        as a touchscreen reports them: every finger still down, by a stable id (its index)."""
        points = [
            {"x": x, "y": y, "id": i, "radiusX": 4, "radiusY": 4, "force": 0.5}
            for i, (x, y) in enumerate(self.screen(finger) for finger in fingers)
        ]
        self._input("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def swipe(self, points: Sequence[Point], *, steps: int = 6) -> None:
        """One finger down at the first point, through the others, lifted."""
        self.touch("touchStart", [points[0]])
        for a, b in itertools.pairwise(points):
            for i in range(1, steps + 1):
                t = i / steps
                self.touch("touchMove", [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)])
        self.touch("touchEnd", [])

    def pen(self, kind: str, point: Point, pressure: float = 0.0) -> None:
        """A pen event (`mousePressed`, `mouseMoved`, `mouseReleased`) with its pressure (0..1)."""
        x, y = self.screen(point)
        params: dict[str, Any] = {
            "type": kind,
            "x": x,
            "y": y,
            "pointerType": "pen",
            "button": "left",
            "buttons": 0 if kind == "mouseReleased" else 1,
            "clickCount": 1,
            "force": pressure,
        }
        self._input("Input.dispatchMouseEvent", params)

    def pen_stroke(self, points: Sequence[tuple[float, float, float]]) -> None:
        """Draw with a pen through (x, y, pressure) points: down at the first, moved, lifted at the last."""
        self.pen("mousePressed", points[0][:2], points[0][2])
        for x, y, pressure in points[1:]:
            self.pen("mouseMoved", (x, y), pressure)
        self.pen("mouseReleased", points[-1][:2])

    def drag(self, start: Point, end: Point, *, shift: bool = False, steps: int = 8) -> None:
        """Press at `start` (canvas pixels), move to `end`, release; with Shift held if asked."""
        if shift:
            self.page.keyboard.down("Shift")
        self.draw_stroke([start, end], steps=steps)
        if shift:
            self.page.keyboard.up("Shift")

    def click(self, point: Point) -> None:
        self.page.mouse.click(*self.screen(point))

    def type_text(self, text: str) -> None:
        """Type into the text editor as an input method would (insertText input events, no key presses),
        newlines with Enter."""
        editor = self.page.get_by_test_id("text-editor")
        editor.wait_for()
        self.page.wait_for_function("() => document.activeElement?.dataset.testid === 'text-editor'")
        for i, line in enumerate(text.split("\n")):
            if i:
                self.page.keyboard.press("Enter")
            self.page.keyboard.insert_text(line)

    def finish_text(self) -> None:
        self.page.keyboard.press("Escape")
        self.page.get_by_test_id("text-editor").wait_for(state="detached")

    def press(self, keys: str) -> None:
        self.canvas.focus()
        self.page.keyboard.press(keys)

    def hover(self, point: Point) -> None:
        self.page.mouse.move(*self.screen(point), steps=3)

    def pick_color(self, hex_digits: str) -> None:
        """One of the toolbar's colours, by its hex digits (`e03131`)."""
        self.page.get_by_test_id(f"swatch-{hex_digits}").click()

    def zoom_in(self) -> None:
        self.page.get_by_test_id("zoom-in").click()

    def pan_by(self, dx: float, dy: float) -> None:
        """Drag the board with the hand tool, by canvas pixels."""
        self.pick_tool("hand")
        self.draw_stroke([(500, 350), (500 + dx, 350 + dy)])
        self.pick_tool("pen")

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

    _SETTLED = "s.pending === 0 && s.inflight === 0 && s.unconfirmed === 0"

    def expect_strokes(self, count: int, *, timeout: float = 15_000) -> None:
        """The board shows `count` committed strokes, and nothing of mine waits to be committed."""
        self._wait(f"(s, n) => s.strokes === n && {self._SETTLED}", count, timeout=timeout)

    def expect_items(self, kinds: list[str], *, timeout: float = 15_000) -> None:
        """The board shows items of these kinds, bottom to top, and nothing of mine waits."""
        self._wait(
            f"(s, want) => JSON.stringify(s.kinds) === JSON.stringify(want) && {self._SETTLED}",
            kinds,
            timeout=timeout,
        )

    def placed(self) -> list[Any]:
        """The visible items, each [op, transform, edited text] (board.js `placed()`)."""
        return list(self.state()["placed"])

    def expect_settled(self, *, timeout: float = 15_000) -> None:
        """Everything I drew, erased, undid or redid is committed (or refused): my board is the room's."""
        self._wait(f"(s) => {self._SETTLED}", timeout=timeout)

    def expect_order(self, ids: list[str], *, timeout: float = 15_000) -> None:
        """The visible items are these, bottom to top, and nothing of mine waits."""
        self._wait(
            f"(s, want) => JSON.stringify(s.ids) === JSON.stringify(want) && {self._SETTLED}",
            ids,
            timeout=timeout,
        )

    def expect_pixel(self, point: Point, rgb: tuple[int, int, int], *, within: int = 8) -> None:
        """The canvas shows about this colour at a point (canvas pixels), once it has drawn it."""
        self.page.wait_for_function(
            """([x, y, want, within]) => {
                const canvas = document.getElementById("canvas");
                const ratio = canvas.width / canvas.clientWidth;
                const [px, py] = [Math.round(x * ratio), Math.round(y * ratio)];
                const got = canvas.getContext("2d").getImageData(px, py, 1, 1).data;
                return want.every((v, i) => Math.abs(v - got[i]) <= within);
            }""",
            arg=[point[0], point[1], list(rgb), within],
            timeout=15_000,
        )

    def expect_pending(self, count: int) -> None:
        """This many of my changes wait to be sent (the outbox, kept across reloads)."""
        self._wait("(s, n) => s.pending === n", count)

    def expect_server_board(self, ids: list[str], *, timeout: float = 20_000) -> None:
        """The drawing service stored exactly these strokes, in this order (polled from the page)."""
        self.page.wait_for_function(
            """async ([session, want]) => {
                const response = await fetch(`/api/v1/sessions/${session}/board`);
                if (!response.ok) return false;
                const body = await response.json();
                return JSON.stringify(body.strokes.map((s) => s.id)) === JSON.stringify(want);
            }""",
            arg=[self.state()["session"], ids],
            timeout=timeout,
            polling=250,
        )

    def expect_same_board_as(self, other: BoardPage) -> None:
        """My board converges to `other`'s, once everything `other` sent is committed."""
        other.expect_settled()
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

    def expect_cursor_at(self, name: str, point: Point) -> None:
        """Someone's cursor is over this canvas point of mine (within a few pixels)."""
        self.expect_cursor_of(name)
        self._wait(
            "(s, w) => s.cursors.some(c => c.name === w.name && Math.hypot("
            "(c.x - s.camera.x) * s.camera.zoom - w.x, (c.y - s.camera.y) * s.camera.zoom - w.y) < 4)",
            {"name": name, "x": point[0], "y": point[1]},
        )

    def expect_live_preview(self) -> None:
        """Someone's stroke is being drawn on my screen before it is committed."""
        self._wait("(s) => s.previews > 0")

    def expect_laser_of(self, name: str) -> None:
        """Someone's laser trail is on my screen (points not faded yet)."""
        self._wait("(s, who) => s.lasers.some((l) => l.name === who && l.points > 0)", name)

    def expect_no_laser(self) -> None:
        """No laser trail is left on my screen: they fade within a moment."""
        self._wait("(s) => s.lasers.length === 0")

    def expect_camera_near(self, camera: dict[str, float]) -> None:
        """My viewport shows the same board point in the middle at the same zoom (same-sized windows)."""
        self._wait(
            "(s, c) => Math.abs(s.camera.zoom - c.zoom) < 1e-6 && Math.abs(s.camera.x - c.x) < 1"
            " && Math.abs(s.camera.y - c.y) < 1",
            camera,
        )

    def expect_role(self, role: str) -> None:
        self._wait("(s, want) => s.role === want", role)

    def expect_title(self, title: str) -> None:
        expect_text = self.page.get_by_test_id("session-name")
        self.page.wait_for_function(
            "([want]) => document.querySelector('[data-testid=session-name]').textContent === want",
            arg=[title],
        )
        assert expect_text.inner_text() == title

    def expect_offline_reason(self, pattern: str) -> None:
        detail = self.page.get_by_test_id("connection-detail")
        detail.wait_for(state="visible")
        assert re.search(pattern, detail.inner_text(), re.IGNORECASE), detail.inner_text()

    def expect_recent_boards(self, *sessions: str) -> None:
        """The lobby lists these boards first, newest first."""
        self.page.wait_for_function(
            "([want]) => JSON.stringify([...document.querySelectorAll('[data-testid=recent-board]')]"
            ".map(a => a.dataset.session).slice(0, want.length)) === JSON.stringify(want)",
            arg=[list(sessions)],
        )

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
