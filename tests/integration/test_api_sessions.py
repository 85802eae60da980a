"""Users, logins, sessions, share links and join tokens through HTTP against a real drawing service."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.protocol.tokens import JoinClaims, parse_keys, sign, verify

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""

OLD_KEY, NEW_KEY = "old:" + "o" * 40, "new:" + "n" * 40
SERVICE_TOKEN = "svc-" + "s" * 40
LOGIN_LIMIT = 4
LIMITS = {
    "DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_MINUTE": str(LOGIN_LIMIT),
    "DRAWNET_DRAWING_MAX_BODY_BYTES": "4096",
    "DRAWNET_DRAWING_MAX_PAGE_SIZE": "50",
    "DRAWNET_DRAWING_DEFAULT_PAGE_SIZE": "3",
    "DRAWNET_DRAWING_MAX_PARTICIPANTS_LIMIT": "100",
    "DRAWNET_DRAWING_PASSWORD_MIN_LENGTH": "10",
}


@pytest.fixture(scope="module")
def service(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawingService]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        room_public_url="ws://rooms.example:8001",
        extra_env={
            # Two keys, the new one signing: tokens of the old one still verify until it is removed.
            "DRAWNET_DRAWING_SIGNING_KEYS": f"{NEW_KEY},{OLD_KEY}",
            "DRAWNET_DRAWING_SIGNING_KEY_ID": "new",
            "DRAWNET_DRAWING_SERVICE_TOKEN": SERVICE_TOKEN,
            "DRAWNET_DRAWING_COOKIE_SECURE": "false",
            **LIMITS,
        },
    ).start(timeout=START_TIMEOUT)
    yield service
    service.stop()
    nats_server.stop()


_addresses = itertools.count(10)


def own_address() -> httpx.HTTPTransport:
    """A loopback address of its own (127.0.x.y), so per-address limits count this client alone."""
    n = next(_addresses)
    return httpx.HTTPTransport(local_address=f"127.0.{n // 250}.{n % 250 + 2}")


@pytest.fixture
def http(service: DrawingService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30, transport=own_address()) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(http: httpx.Client, name: str = "ann") -> tuple[str, str]:
    username, password = f"{name}-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    return username, password


def login(http: httpx.Client, name: str = "ann") -> str:
    username, password = new_user(http, name)
    response = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    http.cookies.clear()  # the tests present the login as a bearer token, where they mean to
    token: str = response.json()["token"]
    return token


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("https://drawnet.dev/problems/")
    return body


class TestUsers:
    def test_a_registered_user_logs_in_with_a_cookie_and_a_bearer_token(self, http: httpx.Client) -> None:
        username, password = new_user(http)

        response = http.post("/api/v1/auth/login", json={"username": username.upper(), "password": password})

        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "drawnet_login=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        token = response.json()["token"]
        assert http.get("/api/v1/auth/me", headers=bearer(token)).json()["username"] == username
        by_cookie = http.get("/api/v1/auth/me", headers={"Cookie": f"drawnet_login={token}"})
        assert by_cookie.json()["username"] == username

    def test_a_password_never_comes_back_in_an_answer(self, http: httpx.Client) -> None:
        username, password = new_user(http)
        response = http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert password not in response.text
        assert password not in http.get("/api/v1/auth/me", headers=bearer(response.json()["token"])).text

    def test_logging_out_ends_that_login_only(self, http: httpx.Client) -> None:
        username, password = new_user(http)
        first = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]
        second = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]

        response = http.post("/api/v1/auth/logout", headers=bearer(first))

        assert response.status_code == 204
        assert "drawnet_login=" in response.headers["set-cookie"]
        problem(http.get("/api/v1/auth/me", headers=bearer(first)), 401)
        assert http.get("/api/v1/auth/me", headers=bearer(second)).status_code == 200

    def test_a_taken_user_name_is_a_conflict_whatever_its_case(self, http: httpx.Client) -> None:
        username, _ = new_user(http)
        body = problem(
            http.post("/api/v1/users", json={"username": username.upper(), "password": "long-enough-1"}), 409
        )
        assert username.lower() in str(body["detail"])

    def test_a_short_password_is_refused_with_the_limit(self, http: httpx.Client) -> None:
        body = problem(http.post("/api/v1/users", json={"username": "shorty", "password": "abc"}), 422)
        assert body["detail"] == "a password of 3 characters is shorter than password_min_length 10"

    def test_a_bad_user_name_is_refused_with_the_field(self, http: httpx.Client) -> None:
        body = problem(http.post("/api/v1/users", json={"username": "a b", "password": "long-enough-1"}), 400)
        assert "username" in str(body["errors"])

    def test_a_wrong_password_and_an_unknown_user_look_the_same(self, http: httpx.Client) -> None:
        username, _ = new_user(http)
        wrong = problem(http.post("/api/v1/auth/login", json={"username": username, "password": "nope"}), 401)
        unknown = problem(
            http.post("/api/v1/auth/login", json={"username": "nobody-x", "password": "nope"}), 401
        )
        assert wrong["detail"] == unknown["detail"] == "wrong user name or password"

    def test_logins_are_rate_limited_per_client_and_then_refused_with_retry_after(
        self, service: DrawingService
    ) -> None:
        with httpx.Client(base_url=service.url, transport=own_address()) as other:
            codes = [
                other.post("/api/v1/auth/login", json={"username": "x-y-z", "password": "p"}).status_code
                for _ in range(LOGIN_LIMIT)
            ]
            refused = other.post("/api/v1/auth/login", json={"username": "x-y-z", "password": "p"})
        assert codes == [401] * LOGIN_LIMIT
        body = problem(refused, 429)
        assert body["limit"] == "login_attempts_per_minute"
        assert f"login_attempts_per_minute {LOGIN_LIMIT}" in str(body["detail"])
        assert 1 <= int(refused.headers["retry-after"]) <= 60

    def test_a_body_over_the_limit_is_refused_with_413_and_the_numbers(self, http: httpx.Client) -> None:
        body = problem(
            http.post("/api/v1/users", json={"username": "big", "password": "x" * 5000, "display_name": ""}),
            413,
        )
        assert body["detail"] == "request body exceeds max_body_bytes 4096 bytes"
        assert body["limit"] == "max_body_bytes"


class TestSessions:
    def test_a_created_session_has_its_settings_and_addresses(self, http: httpx.Client) -> None:
        owner = login(http)
        response = http.post(
            "/api/v1/sessions",
            json={
                "name": "team-sketch",
                "title": "Team sketch",
                "visibility": "public",
                "allow_guests": False,
                "max_participants": 12,
                "idle_timeout_seconds": 600,
            },
            headers=bearer(owner),
        )
        assert response.status_code == 201
        assert response.headers["location"] == "/api/v1/sessions/team-sketch"
        created = response.json()
        assert {k: created[k] for k in ("title", "visibility", "allow_guests", "max_participants")} == {
            "title": "Team sketch",
            "visibility": "public",
            "allow_guests": False,
            "max_participants": 12,
        }
        assert created["idle_timeout_seconds"] == 600
        assert created["room_url"] == "ws://rooms.example:8001/rooms/default/team-sketch"
        assert created["url"].endswith("/s/team-sketch")
        assert http.get("/api/v1/sessions/team-sketch").json()["your_role"] == "public"

    def test_a_session_without_a_name_gets_one(self, http: httpx.Client) -> None:
        created = http.post("/api/v1/sessions", json={}, headers=bearer(login(http))).json()
        assert created["name"].startswith("board-")
        assert created["visibility"] == "private"

    def test_a_taken_name_is_a_conflict(self, http: httpx.Client) -> None:
        owner = login(http)
        http.post("/api/v1/sessions", json={"name": "taken-name"}, headers=bearer(owner))
        problem(http.post("/api/v1/sessions", json={"name": "taken-name"}, headers=bearer(owner)), 409)

    def test_settings_change_and_refuse_a_limit_past_the_servers(self, http: httpx.Client) -> None:
        owner = login(http)
        name = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]

        changed = http.patch(
            f"/api/v1/sessions/{name}", json={"title": "New", "visibility": "public"}, headers=bearer(owner)
        )
        too_many = http.patch(
            f"/api/v1/sessions/{name}", json={"max_participants": 101}, headers=bearer(owner)
        )

        assert changed.json()["title"] == "New"
        assert changed.json()["visibility"] == "public"
        assert changed.json()["max_participants"] == 50
        body = problem(too_many, 400)
        assert body["detail"] == "max_participants 101 exceeds max_participants_limit 100"

    def test_the_list_is_paged_by_name_with_a_link_to_the_next_page(self, http: httpx.Client) -> None:
        owner = login(http)
        prefix = f"pg{secrets.token_hex(2)}"
        for i in range(7):
            http.post("/api/v1/sessions", json={"name": f"{prefix}-{i}"}, headers=bearer(owner))
        seen: list[str] = []
        url: str | None = f"/api/v1/sessions?after={prefix}"
        while url:
            response = http.get(url, headers=bearer(owner))
            seen += [s["name"] for s in response.json() if s["name"].startswith(prefix)]
            url = response.links.get("next", {}).get("url")
        assert seen == [f"{prefix}-{i}" for i in range(7)]

    def test_a_page_over_the_limit_is_refused_with_the_numbers(self, http: httpx.Client) -> None:
        body = problem(http.get("/api/v1/sessions", params={"limit": 51}), 400)
        assert body["detail"] == "limit 51 exceeds max_page_size 50"

    def test_a_deleted_session_is_gone_for_everyone_but_its_board_is_archived(
        self, http: httpx.Client
    ) -> None:
        owner = login(http)
        name = http.post("/api/v1/sessions", json={"visibility": "public"}, headers=bearer(owner)).json()[
            "name"
        ]

        assert http.delete(f"/api/v1/sessions/{name}", headers=bearer(owner)).status_code == 204

        problem(http.get(f"/api/v1/sessions/{name}"), 404)
        assert http.get(f"/api/v1/sessions/{name}", headers=bearer(owner)).json()["archived"] is True
        problem(http.delete(f"/api/v1/sessions/{name}", headers=bearer(owner)), 404)
        assert name not in {s["name"] for s in http.get("/api/v1/sessions", headers=bearer(owner)).json()}

    def test_archiving_is_idempotent_and_works_for_a_session_never_created_here(
        self, http: httpx.Client
    ) -> None:
        first = http.post("/api/v1/sessions/made-by-operator/archive", headers=bearer(SERVICE_TOKEN))
        again = http.post("/api/v1/sessions/made-by-operator/archive", headers=bearer(SERVICE_TOKEN))
        assert first.status_code == again.status_code == 200
        assert (
            first.json()
            == again.json()
            == {"session": "made-by-operator", "archived": True, "seq": 0, "strokes": 0}
        )

    def test_archiving_a_session_of_another_namespace_archives_that_one_not_ours(
        self, http: httpx.Client
    ) -> None:
        """The operator may serve namespaces besides the drawing service's (the op log, and SQL, hold every
        namespace's ops): deleting team-a/retro archives team-a/retro, never default/retro."""
        owner = login(http)
        assert http.post("/api/v1/sessions", json={"name": "retro"}, headers=bearer(owner)).status_code == 201

        archived = http.post(
            "/api/v1/sessions/retro/archive", params={"namespace": "team-a"}, headers=bearer(SERVICE_TOKEN)
        )
        assert archived.status_code == 200, archived.text
        assert http.get("/api/v1/sessions/retro", headers=bearer(owner)).json()["archived"] is False
        bad = http.post(
            "/api/v1/sessions/retro/archive", params={"namespace": "Team_A"}, headers=bearer(SERVICE_TOKEN)
        )
        assert bad.status_code == 422

    def test_a_room_of_another_namespace_gets_no_snapshot_of_our_board_of_that_name(
        self, http: httpx.Client
    ) -> None:
        """A room loads its board from the snapshot and the rest of its own namespace's op log: the same
        name's board here would be another board."""
        ours = http.get("/api/v1/sessions/nobody-made-this/snapshot", params={"namespace": "default"})
        theirs = http.get("/api/v1/sessions/nobody-made-this/snapshot", params={"namespace": "team-a"})
        assert ours.status_code == 200
        refused = problem(theirs, 404)
        assert (
            "no session 'team-a.nobody-made-this': this service serves the sessions of namespace 'default'"
            in str(refused["detail"])
        )

    def test_an_open_board_reads_as_a_public_session_without_an_owner(self, http: httpx.Client) -> None:
        board = http.get("/api/v1/sessions/nobody-made-this")
        assert board.status_code == 200
        assert {k: board.json()[k] for k in ("title", "owner", "visibility", "your_role")} == {
            "title": "nobody-made-this",
            "owner": None,
            "visibility": "public",
            "your_role": "public",
        }
        # Nobody owns it here, so nobody changes, shares or deletes it through the API.
        refused = problem(http.patch("/api/v1/sessions/nobody-made-this", json={"title": "x"}), 403)
        assert "nobody owns it" in str(refused["detail"])

    def test_an_invalid_session_name_is_refused_with_what_a_name_is(self, http: httpx.Client) -> None:
        body = problem(http.get("/api/v1/sessions/Not_A_Name"), 422)
        assert "DNS-1123" in str(body["detail"])


class TestJoining:
    def test_a_join_token_verifies_with_the_shared_keys_and_names_session_and_role(
        self, http: httpx.Client
    ) -> None:
        owner = login(http)
        name = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]
        link = http.post(
            f"/api/v1/sessions/{name}/links", json={"role": "viewer"}, headers=bearer(owner)
        ).json()

        joined = http.post(f"/api/v1/sessions/{name}/join", json={"link": link["code"], "name": "Vic"}).json()

        assert link["url"].endswith(f"/s/{name}?link={link['code']}")
        claims = verify(joined["token"], parse_keys(f"{NEW_KEY},{OLD_KEY}"), ns="default", session=name)
        assert (claims.role, claims.name, claims.sub.startswith("guest:")) == ("viewer", "Vic", True)
        assert jwt.get_unverified_header(joined["token"])["kid"] == "new"
        assert (joined["room_url"], joined["namespace"]) == (
            f"ws://rooms.example:8001/rooms/default/{name}",
            "default",
        )

    def test_a_token_signed_with_the_previous_key_still_works_while_that_key_is_listed(
        self, http: httpx.Client
    ) -> None:
        name = "rotating"
        owner = login(http)
        http.post("/api/v1/sessions", json={"name": name, "visibility": "private"}, headers=bearer(owner))
        link = http.post(f"/api/v1/sessions/{name}/links", json={"role": "viewer"}, headers=bearer(owner))
        claims = JoinClaims.issue(
            sub="u",
            name="Old",
            ns="default",
            session=name,
            role="viewer",
            ttl_seconds=60,
            grant=f"link:{link.json()['id']}",
        )
        old_token = sign(claims, "old", parse_keys(OLD_KEY)["old"])
        assert http.get(f"/api/v1/sessions/{name}/snapshot", headers=bearer(old_token)).status_code == 200

    def test_a_revoked_link_lets_nobody_in(self, http: httpx.Client) -> None:
        owner = login(http)
        name = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]
        link = http.post(
            f"/api/v1/sessions/{name}/links", json={"role": "editor"}, headers=bearer(owner)
        ).json()
        http.delete(f"/api/v1/sessions/{name}/links/{link['id']}", headers=bearer(owner))

        body = problem(
            http.post(f"/api/v1/sessions/{name}/join", json={"link": link["code"], "name": "E"}), 403
        )

        assert body["detail"] == "this share link was revoked by the session's owner"
        listed = http.get(f"/api/v1/sessions/{name}/links", headers=bearer(owner)).json()
        assert [(item["id"], item["revoked"], item["code"]) for item in listed] == [(link["id"], True, None)]

    def test_a_link_of_another_session_or_a_forged_one_lets_nobody_in(self, http: httpx.Client) -> None:
        owner = login(http)
        one = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]
        two = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]
        code = http.post(
            f"/api/v1/sessions/{one}/links", json={"role": "editor"}, headers=bearer(owner)
        ).json()["code"]
        wrong = problem(http.post(f"/api/v1/sessions/{two}/join", json={"link": code, "name": "E"}), 403)
        forged = problem(
            http.post(f"/api/v1/sessions/{one}/join", json={"link": code + "x", "name": "E"}), 403
        )
        assert wrong["detail"] == f"this share link is for session {one!r}, not {two!r}"
        assert forged["detail"] == "this share link is not valid"

    def test_guests_need_a_display_name_and_a_session_that_allows_them(self, http: httpx.Client) -> None:
        owner = login(http)
        open_name = http.post(
            "/api/v1/sessions", json={"visibility": "public"}, headers=bearer(owner)
        ).json()["name"]
        closed = http.post(
            "/api/v1/sessions", json={"visibility": "public", "allow_guests": False}, headers=bearer(owner)
        ).json()["name"]

        nameless = problem(http.post(f"/api/v1/sessions/{open_name}/join", json={}), 422)
        guest = http.post(f"/api/v1/sessions/{open_name}/join", json={"name": "Gus"})
        refused = problem(http.post(f"/api/v1/sessions/{closed}/join", json={"name": "Gus"}), 401)
        member = http.post(f"/api/v1/sessions/{closed}/join", json={}, headers=bearer(login(http, "bea")))

        assert nameless["detail"] == "guests join with a display name: give `name`"
        assert (guest.status_code, guest.json()["role"], guest.json()["name"]) == (200, "editor", "Gus")
        assert refused["detail"] == f"session {closed!r} does not allow guests: log in to join"
        assert member.status_code == 200
        assert member.json()["name"].startswith("bea-")

    def test_nobody_joins_an_archived_session(self, http: httpx.Client) -> None:
        owner = login(http)
        name = http.post("/api/v1/sessions", json={}, headers=bearer(owner)).json()["name"]
        http.post(f"/api/v1/sessions/{name}/archive", headers=bearer(SERVICE_TOKEN))
        problem(http.post(f"/api/v1/sessions/{name}/join", json={}, headers=bearer(owner)), 409)
