"""The browser tier: real headless Chromium (Debian's package) driven by Playwright, against a real
platform (nats-server, room and drawing-service processes on loopback ports).

A missing Chromium or Playwright skips these tests locally and fails them under
DRAWNET_REQUIRE_ALL_TIERS=1 (CI). One platform serves a whole module: tests use distinct session names.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer, free_port
from drawnet.testkit.tokens import TEST_SIGNING_KEYS
from tests.browser.board_page import BoardPage
from tests.conftest import missing_dependency

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

CHROMIUM = os.environ.get("DRAWNET_CHROMIUM", "/usr/bin/chromium")
# No background traffic: this machine's network is closed, and Chromium's phoning home only slows it down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@dataclass
class Platform:
    """NATS, a room and the drawing service serving the web app, on free loopback ports."""

    data_dir: Path
    nats: NatsServer = field(init=False)
    room: RoomServer = field(init=False)
    drawing: DrawingService = field(init=False)

    def __post_init__(self) -> None:
        self.nats = NatsServer(data_dir=self.data_dir / "nats")
        drawing_port = free_port()
        self.room = self._room(free_port(), drawing_port)
        self.drawing = DrawingService(
            nats_url=self.nats.url,
            database_url=f"sqlite:///{self.data_dir / 'drawnet.db'}",
            log_path=self.data_dir / "drawing.log",
            port=drawing_port,
            room_public_url=self.room.url,
            signing_keys=TEST_SIGNING_KEYS,
        )

    def _room(self, port: int, drawing_port: int) -> RoomServer:
        return RoomServer(
            nats_url=self.nats.url,
            log_path=self.data_dir / "room.log",
            port=port,
            signing_keys=TEST_SIGNING_KEYS,
            # Rooms load boards from the drawing service's snapshot, as on a cluster.
            drawing_url=f"http://127.0.0.1:{drawing_port}",
        )

    @property
    def url(self) -> str:
        return self.drawing.url

    def start(self) -> Platform:
        self.nats.start()
        self.drawing.start()
        self.room.start()
        return self

    def stop(self) -> None:
        for part in (self.room, self.drawing, self.nats):
            part.stop()

    def stop_room(self) -> None:
        """SIGTERM: the room drains (acknowledges what is in flight), closes every connection and exits."""
        self.room.stop()

    def start_room(self) -> None:
        """A new room process on the same port, loading boards from the op log and the drawing service."""
        self.room = self._room(self.room.port, self.drawing.port)
        self.room.start()


# Module scope, not session: while Playwright's sync API is open, its event loop counts as running in this
# thread, and the asyncio tests of the other tiers could not run their own.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional test dependency
    except ImportError:
        missing_dependency("playwright is not installed (tools/bootstrap.sh --test installs it)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing_dependency(
            f"no Chromium at {CHROMIUM} (tools/bootstrap.sh --test installs Debian's chromium)"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(tmp_path_factory.mktemp("platform")).start()
    yield running
    running.stop()


DEVICES: dict[str, dict[str, object]] = {
    "desktop": {"viewport": {"width": 1100, "height": 720}},
    # A phone (an iPhone 14's CSS size) and a tablet (an iPad Air's), with touch; pens through CDP.
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "tablet": {
        "viewport": {"width": 820, "height": 1180},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
"""What `new_person(..., device=...)` browses with."""

NewPerson = Callable[..., BoardPage]
OpenBoard = Callable[..., BoardPage]


@pytest.fixture
def new_person(browser: Browser, platform: Platform) -> Iterator[NewPerson]:
    """A new person at the platform: their own browser context (storage, cookies), nothing opened yet."""
    contexts: list[BrowserContext] = []

    def new_person(
        name: str, *, color: str = "#1971c2", device: str = "desktop", color_scheme: str = "light"
    ) -> BoardPage:
        context = browser.new_context(
            **DEVICES[device],  # type: ignore[arg-type]
            color_scheme=color_scheme,  # type: ignore[arg-type]
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        person = BoardPage(context.new_page(), platform.url)
        person.as_person(name, color)
        return person

    yield new_person
    for context in contexts:
        context.close()


@pytest.fixture
def open_board(new_person: NewPerson) -> OpenBoard:
    """Open a board as a new person, as someone following its link would."""

    def open_board(
        session: str,
        name: str,
        *,
        color: str = "#1971c2",
        link: str | None = None,
        live: bool = True,
        device: str = "desktop",
        color_scheme: str = "light",
    ) -> BoardPage:
        person = new_person(name, color=color, device=device, color_scheme=color_scheme)
        person.open(session, link=link, live=live)
        return person

    return open_board
