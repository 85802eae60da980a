"""Cross-site requests: a page on another site cannot make a logged-in browser change anything (the
drawing service checks Origin), nor open a room's WebSocket (the room checks the upgrade's Origin).
A real drawing service and room over a real nats-server; the requests are what a browser sends."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import CloseCode
from drawnet.testkit.client import RoomClient
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

pytestmark = pytest.mark.integration

EVIL = "http://evil.example"
PARTNER = "https://partner.example"


class Stack:
    def __init__(self, service: DrawingService, room: RoomServer) -> None:
        self.service, self.room = service, room


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    room = RoomServer(
        nats_url=nats_server.url,
        log_path=folder / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={"DRAWNET_ROOM_ALLOWED_ORIGINS": PARTNER},
    ).start(timeout=90)
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        room_public_url=room.url,
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={
            "DRAWNET_DRAWING_COOKIE_SECURE": "false",
            "DRAWNET_DRAWING_ALLOWED_ORIGINS": PARTNER,
        },
    ).start(timeout=90)
    yield Stack(service, room)
    service.stop()
    room.stop()
    nats_server.stop()


@pytest.fixture
def browser(stack: Stack) -> Iterator[httpx.Client]:
    """A browser that is logged in (it holds the login cookie)."""
    with httpx.Client(base_url=stack.service.url, timeout=30) as http:
        username, password = f"v-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        assert (
            http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
        )
        assert (
            http.post("/api/v1/auth/login", json={"username": username, "password": password}).status_code
            == 200
        )
        yield http


def from_site(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Sec-Fetch-Site": "cross-site"}


class TestTheApi:
    def test_another_site_cannot_create_a_session_with_the_visitor_s_cookie(
        self, browser: httpx.Client
    ) -> None:
        # A form's text/plain POST: no preflight, the cookie goes along.
        response = browser.post(
            "/api/v1/sessions",
            content='{"name": "planted", "visibility": "public"}',
            headers={"Content-Type": "text/plain", **from_site(EVIL)},
        )
        assert response.status_code == 403
        assert "cross-site" in response.json()["detail"]
        assert browser.get("/api/v1/sessions/planted").json()["owner"] is None  # an open board, nobody's

    def test_another_site_cannot_mint_a_link_or_log_the_visitor_out(self, browser: httpx.Client) -> None:
        name = browser.post("/api/v1/sessions", json={"visibility": "private"}).json()["name"]
        minted = browser.post(
            f"/api/v1/sessions/{name}/links", json={"role": "editor"}, headers=from_site(EVIL)
        )
        assert minted.status_code == 403
        assert browser.post("/api/v1/auth/logout", headers=from_site(EVIL)).status_code == 403
        assert browser.get("/api/v1/auth/me").status_code == 200  # still logged in

    def test_a_request_without_an_origin_but_marked_cross_site_is_refused(
        self, browser: httpx.Client
    ) -> None:
        response = browser.post("/api/v1/sessions", json={}, headers={"Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 403

    def test_the_web_app_s_own_origin_and_allowed_origins_change_things(
        self, browser: httpx.Client, stack: Stack
    ) -> None:
        own = browser.post(
            "/api/v1/sessions",
            json={},
            headers={"Origin": stack.service.url, "Sec-Fetch-Site": "same-origin"},
        )
        assert own.status_code == 201
        partner = browser.post("/api/v1/sessions", json={}, headers=from_site(PARTNER))
        assert partner.status_code == 201
        script = browser.post("/api/v1/sessions", json={})  # no browser headers: a script, not a page
        assert script.status_code == 201
        reads = browser.get("/api/v1/sessions", headers=from_site(EVIL))
        assert reads.status_code == 200


class TestTheRoom:
    async def test_a_websocket_from_another_site_is_refused(self, stack: Stack) -> None:
        session = f"x-{secrets.token_hex(4)}"
        client = await RoomClient.connect_raw(stack.room.url, session, headers={"Origin": EVIL})
        code, reason = await client.wait_closed(timeout=5)
        assert code == CloseCode.FORBIDDEN
        assert "origin" in reason

    async def test_the_web_app_s_host_and_allowed_origins_may_open_one(self, stack: Stack) -> None:
        session = f"x-{secrets.token_hex(4)}"
        token = Signer().token(session, user="u1")
        for origin in (f"http://{stack.room.host}:{stack.service.port}", PARTNER):
            raw = await RoomClient.connect_raw(stack.room.url, session, headers={"Origin": origin})
            await raw.close()
            assert raw.close_code in {None, 1000}, (origin, raw.close_code, raw.close_reason)
        joined = await RoomClient.join(stack.room.url, session, token=token)
        await joined.close()
