"""Authorization of every endpoint, through HTTP against a real drawing service: the owner, an editor, a
viewer, a guest, a stranger with an account, someone anonymous, a token of another session, the platform."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.testkit.client import line

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""

KEYS = "k1:" + "a" * 40
SERVICE_TOKEN = "svc-" + "s" * 40
IDENTITIES = ("owner", "editor", "viewer", "guest", "stranger", "anonymous", "other", "service")


@pytest.fixture(scope="module")
def service(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawingService]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        extra_env={
            "DRAWNET_DRAWING_SIGNING_KEYS": KEYS,
            "DRAWNET_DRAWING_SERVICE_TOKEN": SERVICE_TOKEN,
            "DRAWNET_DRAWING_OPEN_BOARDS": "false",
        },
    ).start(timeout=START_TIMEOUT)
    yield service
    service.stop()
    nats_server.stop()


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def register_and_login(http: httpx.Client, name: str) -> str:
    password = secrets.token_urlsafe(12)
    username = f"{name}-{secrets.token_hex(3)}"
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    response = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    token: str = response.json()["token"]
    return token


def join_with(http: httpx.Client, session: str, *, link: str, name: str, login: str | None = None) -> str:
    response = http.post(
        f"/api/v1/sessions/{session}/join", json={"link": link, "name": name}, headers=bearer(login)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


@dataclass
class World:
    """A private session `main` and every kind of caller, with the credential each presents."""

    http: httpx.Client
    session: str
    tokens: dict[str, str | None]
    spare: list[str]
    """More sessions of the owner's, for the calls that delete or archive one."""

    def call(
        self,
        identity: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> httpx.Response:
        sent = {**bearer(self.tokens[identity]), **(headers or {})}
        return self.http.request(method, path, headers=sent, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(service: DrawingService) -> Iterator[World]:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        owner = register_and_login(http, "owner")
        session = f"main-{secrets.token_hex(3)}"
        spare = [f"spare-{i}-{secrets.token_hex(3)}" for i in range(3)]
        for name in [session, "other-" + session, *spare]:
            created = http.post("/api/v1/sessions", json={"name": name}, headers=bearer(owner))
            assert created.status_code == 201, created.text
        links = {
            role: http.post(
                f"/api/v1/sessions/{session}/links", json={"role": role}, headers=bearer(owner)
            ).json()["code"]
            for role in ("editor", "viewer")
        }
        other_link = http.post(
            f"/api/v1/sessions/other-{session}/links", json={"role": "editor"}, headers=bearer(owner)
        ).json()["code"]
        editor_login = register_and_login(http, "editor")
        viewer_login = register_and_login(http, "viewer")
        tokens: dict[str, str | None] = {
            "owner": owner,
            "editor": join_with(http, session, link=links["editor"], name="Ed", login=editor_login),
            "viewer": join_with(http, session, link=links["viewer"], name="Vi", login=viewer_login),
            "guest": join_with(http, session, link=links["editor"], name="Guest"),
            "stranger": register_and_login(http, "stranger"),
            "anonymous": None,
            "other": join_with(http, "other-" + session, link=other_link, name="Ot"),
            "service": SERVICE_TOKEN,
        }
        yield World(http, session, tokens, spare)


def statuses(
    world: World, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: object
) -> dict[str, int]:
    return {who: world.call(who, method, path, headers=headers, **kwargs).status_code for who in IDENTITIES}


READ = {
    "owner": 200,
    "editor": 200,
    "viewer": 200,
    "guest": 200,
    "stranger": 403,
    "anonymous": 401,
    "other": 403,
    "service": 200,
}
OWNER_ONLY = {
    "owner": 200,
    "editor": 403,
    "viewer": 403,
    "guest": 403,
    "stranger": 403,
    "anonymous": 401,
    "other": 403,
    "service": 403,
}


class TestBoards:
    @pytest.mark.parametrize("view", ["snapshot", "board", "ops", "export.svg", "export.png", "export.json"])
    def test_reading_a_private_board_takes_a_role_on_that_session(self, world: World, view: str) -> None:
        assert statuses(world, "GET", f"/api/v1/sessions/{world.session}/{view}") == READ

    @pytest.mark.parametrize("view", ["export.svg", "export.png", "export.json"])
    def test_an_export_revalidated_by_its_etag_still_takes_a_role(self, world: World, view: str) -> None:
        path = f"/api/v1/sessions/{world.session}/{view}"
        etag = world.call("owner", "GET", path).headers["etag"]

        got = statuses(world, "GET", path, headers={"If-None-Match": etag})

        assert got == {who: 304 if status == 200 else status for who, status in READ.items()}

    def test_importing_strokes_takes_an_owner_or_an_editor(self, world: World) -> None:
        export = {
            "format": "drawnet.board.v1",
            "strokes": [
                {
                    "kind": "stroke",
                    "id": "imp",
                    "tool": "pen",
                    "color": "#000000",
                    "width": 2,
                    "opacity": 1,
                    "pts": line(3),
                }
            ],
        }
        got = statuses(world, "POST", f"/api/v1/sessions/{world.session}/import", json=export)
        assert got == {**OWNER_ONLY, "editor": 200, "guest": 200}


class TestSessions:
    def test_reading_a_private_session_takes_a_role_on_it(self, world: World) -> None:
        assert statuses(world, "GET", f"/api/v1/sessions/{world.session}") == READ

    def test_only_the_owner_changes_settings(self, world: World) -> None:
        got = statuses(world, "PATCH", f"/api/v1/sessions/{world.session}", json={"title": "Renamed"})
        assert got == OWNER_ONLY

    def test_only_the_owner_mints_and_lists_share_links(self, world: World) -> None:
        minted = statuses(world, "POST", f"/api/v1/sessions/{world.session}/links", json={"role": "viewer"})
        assert minted == {**OWNER_ONLY, "owner": 201}
        assert statuses(world, "GET", f"/api/v1/sessions/{world.session}/links") == OWNER_ONLY

    def test_only_the_owner_revokes_a_share_link(self, world: World) -> None:
        link = world.call("owner", "POST", f"/api/v1/sessions/{world.session}/links", json={"role": "viewer"})
        path = f"/api/v1/sessions/{world.session}/links/{link.json()['id']}"
        got = {who: world.call(who, "DELETE", path).status_code for who in IDENTITIES if who != "owner"}
        assert got == {who: OWNER_ONLY[who] for who in got}
        assert world.call("owner", "DELETE", path).status_code == 204

    def test_joining_takes_the_owner_a_share_link_or_a_token_of_the_session(self, world: World) -> None:
        got = {}
        for who in IDENTITIES:
            response = world.call(who, "POST", f"/api/v1/sessions/{world.session}/join", json={"name": "x"})
            got[who] = (response.status_code, response.json().get("role"))
        assert got == {
            "owner": (200, "owner"),
            "editor": (200, "editor"),
            "viewer": (200, "viewer"),
            "guest": (200, "editor"),
            "stranger": (403, None),
            "anonymous": (401, None),
            "other": (403, None),
            "service": (403, None),
        }

    def test_only_the_owner_deletes_a_session(self, world: World) -> None:
        path = f"/api/v1/sessions/{world.spare[0]}"
        got = {who: world.call(who, "DELETE", path).status_code for who in IDENTITIES if who != "owner"}
        # A session's join tokens are only good for that session: for a spare one they are "other" tokens.
        assert got == {who: OWNER_ONLY[who] for who in got}
        assert world.call("owner", "DELETE", path).status_code == 204
        assert world.call("stranger", "GET", path).status_code == 404

    def test_only_the_platform_archives_a_session(self, world: World) -> None:
        path = f"/api/v1/sessions/{world.spare[1]}/archive"
        got = {who: world.call(who, "POST", path).status_code for who in IDENTITIES if who != "service"}
        assert got == {who: 401 if who == "anonymous" else 403 for who in got}
        assert world.call("service", "POST", path).status_code == 200

    def test_creating_a_session_takes_an_account(self, world: World) -> None:
        got = {}
        for who in IDENTITIES:
            response = world.call(who, "POST", "/api/v1/sessions", json={"visibility": "public"})
            got[who] = response.status_code
        assert got == {
            "owner": 201,
            "stranger": 201,
            "editor": 401,
            "viewer": 401,
            "guest": 401,
            "anonymous": 401,
            "other": 401,
            "service": 401,
        }

    def test_the_list_shows_public_sessions_and_your_own(self, world: World) -> None:
        def names(who: str) -> set[str]:
            return {
                s["name"] for s in world.call(who, "GET", "/api/v1/sessions", params={"limit": 1000}).json()
            }

        assert world.session in names("owner")
        assert world.session not in names("stranger")
        assert world.session not in names("anonymous")


class TestUsers:
    def test_me_is_the_logged_in_user_and_nobody_else(self, world: World) -> None:
        assert {who: world.call(who, "GET", "/api/v1/auth/me").status_code for who in IDENTITIES} == {
            "owner": 200,
            "stranger": 200,
            "editor": 401,
            "viewer": 401,
            "guest": 401,
            "anonymous": 401,
            "other": 401,
            "service": 401,
        }

    def test_logging_out_takes_a_login(self, world: World) -> None:
        without_login = [who for who in IDENTITIES if who not in {"owner", "stranger"}]
        got = {who: world.call(who, "POST", "/api/v1/auth/logout").status_code for who in without_login}
        assert got == dict.fromkeys(without_login, 401)

    def test_a_forged_or_expired_credential_is_refused_not_ignored(self, world: World) -> None:
        path = f"/api/v1/sessions/{world.session}/snapshot"
        assert world.http.get(path, headers=bearer("dnl_not-a-login")).status_code == 401
        assert world.http.get(path, headers=bearer("not.a.jwt")).status_code == 401
        assert world.http.get(path, headers={"Authorization": "Basic abc"}).status_code == 401
