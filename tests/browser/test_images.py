"""Pictures on the board in the browser, for two people: one picks, pastes or drops a picture, the other
sees it drawn; it moves with the selection; a file that is no picture is refused with the service's reason
and adds nothing."""

from __future__ import annotations

import base64
import io
import uuid
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from drawnet.testkit import pictures
from tests.browser.board_page import BoardPage
from tests.browser.conftest import OpenBoard

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

pytestmark = pytest.mark.browser

GREEN = "#2f9e44"


def two_people(open_board: OpenBoard) -> tuple[BoardPage, BoardPage]:
    session = f"img-{uuid.uuid4().hex[:8]}"
    return open_board(session, "Ann", color="#1971c2"), open_board(session, "Bob", color="#e03131")


def pick_picture(person: BoardPage, name: str, data: bytes, mime: str = "image/png") -> None:
    with person.page.expect_file_chooser() as chooser:
        person.page.get_by_test_id("image-button").click()
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    chooser.value.set_files(files=[payload])


def paste_or_drop(person: BoardPage, event: str, data: bytes, *, at: tuple[float, float] = (0, 0)) -> None:
    """A real paste or drop event carrying a picture file, through the page's own listeners."""
    person.page.evaluate(
        """([event, b64, x, y]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "picture.png", { type: "image/png" }));
            const canvas = document.getElementById("canvas");
            const box = canvas.getBoundingClientRect();
            if (event === "paste") {
                document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
            } else {
                const at = { clientX: box.left + x, clientY: box.top + y, bubbles: true, cancelable: true };
                canvas.dispatchEvent(new DragEvent("dragover", { ...at, dataTransfer: data }));
                canvas.dispatchEvent(new DragEvent("drop", { ...at, dataTransfer: data }));
            }
        }""",
        [event, base64.b64encode(data).decode(), at[0], at[1]],
    )


def expect_picture_shown(person: BoardPage, digest: str) -> None:
    person._wait("(s, d) => s.pictures.includes(d)", digest)


def canvas_colour_at_centre_of(person: BoardPage, item: dict[str, float]) -> tuple[int, int, int]:
    """The colour the canvas shows at the middle of an item (after the frame that follows its arrival)."""
    person.page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    state = person.state()
    camera, ratio = state["camera"], person.page.evaluate("window.devicePixelRatio")
    x = (item["x"] + item["w"] / 2 - camera["x"]) * camera["zoom"] * ratio
    y = (item["y"] + item["h"] / 2 - camera["y"]) * camera["zoom"] * ratio
    url = person.page.evaluate("document.getElementById('canvas').toDataURL('image/png')")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as shot:
        red, green, blue, *_ = shot.convert("RGB").getpixel((round(x), round(y)))  # type: ignore[misc]
    return red, green, blue


def test_a_picture_one_picks_is_drawn_on_the_others_screen_and_moves_with_the_selection(
    open_board: OpenBoard,
) -> None:
    ann, bob = two_people(open_board)
    pick_picture(ann, "garden.png", pictures.picture(300, 150, GREEN))

    bob.expect_items(["image"])
    ((item, _, _),) = bob.placed()
    assert (item["w"], item["h"]) == (300, 150)  # under 480 screen pixels: placed at its own size
    expect_picture_shown(bob, item["image"])
    assert canvas_colour_at_centre_of(bob, item) == (0x2F, 0x9E, 0x44)

    # Ann's new picture is selected: she drags it 60 pixels right and Bob sees it moved.
    ann._wait("(s, id) => s.tool === 'select' && s.selection.includes(id)", item["id"])
    camera = ann.state()["camera"]
    centre = (
        (item["x"] + 150 - camera["x"]) * camera["zoom"],
        (item["y"] + 75 - camera["y"]) * camera["zoom"],
    )
    ann.drag(centre, (centre[0] + 60, centre[1]))
    bob._wait("(s) => s.placed[0][1] !== null && Math.abs(s.placed[0][1][4] - 60 / s.camera.zoom) < 1")
    bob.expect_same_board_as(ann)


def test_pasted_and_dropped_pictures_are_placed_and_seen_by_the_other(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    ann.pick_tool("hand")
    paste_or_drop(ann, "paste", pictures.picture(64, 64, "#e03131"))
    bob.expect_items(["image"])
    paste_or_drop(ann, "drop", pictures.picture(2000, 1000, "#1971c2", "JPEG"), at=(500, 400))
    bob.expect_items(["image", "image"])
    _, (dropped, _, _) = bob.placed()
    zoom = ann.state()["camera"]["zoom"]
    # A big one is placed 480 screen pixels wide, centred where it was dropped.
    assert dropped["w"] == pytest.approx(480 / zoom, abs=1)
    assert dropped["h"] == pytest.approx(240 / zoom, abs=1)
    camera = ann.state()["camera"]
    assert dropped["x"] + dropped["w"] / 2 == pytest.approx(camera["x"] + 500 / zoom, abs=1)
    expect_picture_shown(bob, dropped["image"])


def test_a_file_that_is_no_picture_is_refused_with_the_reason_and_adds_nothing(open_board: OpenBoard) -> None:
    ann, bob = two_people(open_board)
    pick_picture(ann, "cat.png", pictures.SVG_AS_PNG)
    ann.expect_toast("cat.png was not added: the upload is not a PNG, JPEG, WebP or GIF picture")
    pick_picture(ann, "half.png", pictures.truncated_png())
    ann.expect_toast("half.png was not added: the picture cannot be decoded")
    ann.draw_stroke([(200, 200), (260, 240)])
    bob.expect_items(["stroke"])
